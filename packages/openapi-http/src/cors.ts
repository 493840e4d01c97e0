/** CORS for browser apps on other origins. API keys travel in a header, never in cookies, so
 * credentials are not allowed; an origin is either on the list or gets no CORS headers at
 * all (the browser then refuses the answer, as it should). Preflights are answered here. */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Headers a browser app may read from an answer. */
export const EXPOSED_HEADERS = ['ETag', 'Location', 'X-Request-Id', 'Retry-After', 'Allow', 'Idempotent-Replayed'];
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOWED_HEADERS = 'Content-Type, Accept, X-Api-Key, Authorization, X-Tenant-Id, Idempotency-Key, If-Match, X-Request-Id, Prefer';

export interface CorsOptions {
  /** Exact origins (`https://app.example.com`), or '*' for any origin. Empty: CORS off. */
  origins: readonly string[] | '*';
}

export function cors({ origins }: CorsOptions): RequestHandler {
  const allowed = origins === '*' ? undefined : new Set(origins);
  return (req: Request, res: Response, next: NextFunction) => {
    const origin = req.get('origin');
    if (!origin || (allowed && !allowed.has(origin))) return next();
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.append('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS.join(', '));
    if (req.method === 'OPTIONS' && req.get('access-control-request-method')) {
      res.setHeader('Access-Control-Allow-Methods', ALLOWED_METHODS);
      res.setHeader('Access-Control-Allow-Headers', req.get('access-control-request-headers') || ALLOWED_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** Parses a comma-separated origin list (`PATCHBAY_CORS_ORIGINS`); returns the reason it is
 * not one, or the list. `*` alone means any origin. */
export function parseCorsOrigins(text: string | undefined): { origins: readonly string[] | '*' } | { error: string } {
  const value = text?.trim() ?? '';
  if (value === '') return { origins: [] };
  if (value === '*') return { origins: '*' };
  const origins = value.split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return { error: `'${origin}' is not an origin (scheme://host[:port])` };
    }
    if (!/^https?:$/.test(url.protocol) || url.origin !== origin) return { error: `'${origin}' is not an origin (scheme://host[:port], no path or trailing slash)` };
  }
  return { origins };
}
