/**
 * Who is calling, from X-Api-Key: the bootstrap admin key of PATCHBAY_ADMIN_KEY (compared by
 * SHA-256 in constant time), or a tenant's key (looked up by hash, one indexed query). An
 * admin-scoped key may act inside one tenant named by X-Tenant-Id; any other key sending
 * that header is refused (403) by the dispatcher.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { TenantsService } from '../modules/tenants/service.js';
import type { Principal } from './request-context.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export const ALL_SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'connect_sessions:write', 'admin'] as const;

export function createAuthenticator(adminKey: string, tenants: TenantsService) {
  const adminDigest = digest(adminKey);
  return async (req: Request): Promise<boolean> => {
    const key = req.get('x-api-key');
    if (!key) return false;
    const tenantHeader = req.get('x-tenant-id') || undefined;
    let principal: Principal;
    if (timingSafeEqual(digest(key), adminDigest)) {
      principal = { kind: 'bootstrap_admin', keyId: null, scopes: ALL_SCOPES, tenantId: tenantHeader, tenantFromHeader: tenantHeader !== undefined, refusedTenantHeader: false };
    } else {
      const found = await tenants.authenticate(key);
      if (!found) return false;
      const isAdmin = found.scopes.includes('admin');
      principal = {
        kind: 'api_key',
        keyId: found.id,
        scopes: found.scopes,
        tenantId: isAdmin && tenantHeader !== undefined ? tenantHeader : found.tenantId,
        tenantFromHeader: isAdmin && tenantHeader !== undefined && tenantHeader !== found.tenantId,
        refusedTenantHeader: !isAdmin && tenantHeader !== undefined,
      };
    }
    req.principal = principal;
    return true;
  };
}

/** The admin scope may do everything; any other key needs every scope the operation names. */
export function missingScopes(principal: Principal, required: readonly string[]): string[] {
  if (principal.scopes.includes('admin')) return [];
  return required.filter((s) => !principal.scopes.includes(s));
}
