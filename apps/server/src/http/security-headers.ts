/**
 * Security headers on every response (issue 11), by helmet: `Cache-Control: no-store` (no
 * response, least of all the one that shows a new API key once, may be kept by a cache),
 * `X-Content-Type-Options: nosniff`, a Content-Security-Policy that lets an API response load
 * nothing and be framed by no one, `X-Frame-Options: DENY` for older browsers, and HSTS only
 * when the server is reached over https (PATCHBAY_PUBLIC_URL). The reference pages at /docs
 * replace the policy with DOCS_CSP (docs.ts), and the bundles and Redoc's script set their own
 * Cache-Control.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

/** What an API response may load: nothing; and no page may frame it. */
const API_DIRECTIVES = {
  'default-src': ["'none'"],
  'frame-ancestors': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
};

/**
 * The reference pages: our own scripts only (Redoc's standalone bundle and its start script,
 * no inline script), the bundles fetched from this origin, and what Redoc 2 needs beyond
 * that: inline styles (styled-components writes <style> elements), `data:` images and fonts,
 * and `blob:` workers (its search index runs in a worker made from a Blob).
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function securityHeaders({ publicUrl }: { publicUrl: string | undefined }): RequestHandler {
  const https = publicUrl?.startsWith('https:') ?? false;
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: API_DIRECTIVES },
    xFrameOptions: { action: 'deny' },
    // Only where browsers reach us over https: HSTS sent over http is ignored, and would pin a
    // development host name to https.
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  return (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    headers(req, res, next);
  };
}
