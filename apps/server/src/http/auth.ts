/**
 * Who is calling. Until tenants and their keys exist (the connections issue), the one key
 * is the bootstrap admin key of PATCHBAY_ADMIN_KEY. Keys are compared by their SHA-256 in
 * constant time, so neither length nor content leaks through timing.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Principal } from './request-context.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export const ALL_SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'connect_sessions:write', 'admin'] as const;

export function createAuthenticator(adminKey: string) {
  const adminDigest = digest(adminKey);
  return (req: Request): boolean => {
    const key = req.get('x-api-key');
    if (!key) return false;
    if (!timingSafeEqual(digest(key), adminDigest)) return false;
    const principal: Principal = { kind: 'bootstrap_admin', scopes: ALL_SCOPES };
    req.principal = principal;
    return true;
  };
}
