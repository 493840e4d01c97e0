/**
 * Who is calling. The key comes in `X-Api-Key`, or as `Authorization: Basic base64(key:)`
 * (the form Codat's SDK sends); a JWT comes as `Authorization: Bearer <JWT>` (tokens.ts: a
 * tenant principal naming its tenant in a claim, or a platform one with the platform claim).
 * The bootstrap key of PATCHBAY_ADMIN_KEY (compared by
 * SHA-256 in constant time) is a platform principal; any other key is looked up by hash, one
 * indexed query on every request (never cached, so a revocation holds on every process at
 * once; on PostgreSQL the same statement takes the request's rate-limit counts, decision
 * 0028), and is a platform principal when it is a stored platform key, else a tenant
 * principal. This runs before the validators, so that a store
 * that cannot be reached is a 503, not a 401 as if every key had been revoked; the
 * validators' security handlers then only ask whether a principal was found.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpProblem } from '@patchbay/openapi-http';
import type { TenantsService } from '../modules/tenants/service.js';
import type { TokenConfig } from '../platform/config.js';
import type { RateLimiting } from './rate-limits.js';
import type { Principal } from './request-context.js';
import { createTokenVerifier, presentedBearer, type TokenIdentity } from './tokens.js';

/** The shape of a tenant id (`ten_` and a ULID), as the spec's X-Tenant-Id parameter has it. */
const TENANT_ID = /^ten_[0-9a-z]{26}$/;

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** What a tenant key may be given. */
export const TENANT_SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'audit:read', 'webhooks:read', 'webhooks:write'] as const;
/** What only a platform principal may hold: the admin API's scopes. */
export const PLATFORM_SCOPES = ['tenants:read', 'tenants:write', 'platform_keys:read', 'platform_keys:write', 'encryption_keys:read', 'encryption_keys:write'] as const;

const isPlatformScope = (scope: string): boolean => (PLATFORM_SCOPES as readonly string[]).includes(scope);

const unavailable = (what: string) => new HttpProblem('not_ready', `Authentication is unavailable: ${what} cannot be reached. Retry shortly.`, undefined, {}, { 'Retry-After': '5' });

/** The API key a request presents, from X-Api-Key or Basic (user name = key; or the password when the user name is empty). */
export function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key');
  if (header) return header;
  const authorization = req.get('authorization');
  const match = authorization ? /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization) : null;
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon === -1 ? decoded : decoded.slice(0, colon);
  const password = colon === -1 ? '' : decoded.slice(colon + 1);
  return user || password || undefined;
}

export interface AuthenticatorOptions {
  adminKey: string | undefined;
  tenants: TenantsService;
  /** Bearer tokens (PATCHBAY_JWT_*); undefined: every Bearer credential is refused. */
  tokens?: TokenConfig | undefined;
  /** Called on each use of the bootstrap key: it is for setting up, and every use is noted
   * (logged and audited). A failure to note it is a 503: the key is not used unrecorded. */
  onBootstrapKeyUse: (req: Request) => void | Promise<void>;
  /** The rate limits, when an API key's lookup may count the request in the same statement. */
  rateLimits?: Pick<RateLimiting, 'inKeyLookup' | 'countedInKeyLookup'> | undefined;
}

/** Middleware: sets `req.principal` when the request presents a valid key. */
export function authenticate({ adminKey, tenants, onBootstrapKeyUse, tokens, rateLimits }: AuthenticatorOptions): RequestHandler {
  const adminDigest = adminKey ? digest(adminKey) : undefined;
  const verifyToken = tokens ? createTokenVerifier(tokens) : undefined;

  /** A verified token's principal: a platform one names its tenant with X-Tenant-Id, a tenant one is held to its claim's tenant. */
  const tokenPrincipal = async (identity: TokenIdentity, tenantHeader: string | undefined, tenantPresented: boolean): Promise<Principal | string> => {
    const common = { via: 'token', keyId: null, subject: identity.subject, scopes: identity.scopes } as const;
    if (identity.platform) return { ...common, kind: 'platform', tenantId: tenantHeader, tenantFromHeader: tenantHeader !== undefined, refusedTenantHeader: false };
    // The claim names a Patchbay tenant id; a token for a tenant this server does not have acts nowhere.
    if (!(await tenants.tenantExists(identity.tenantId!))) return 'The bearer token names a tenant this server does not have.';
    return { ...common, kind: 'tenant', tenantId: identity.tenantId, tenantFromHeader: false, refusedTenantHeader: tenantPresented };
  };

  return async (req: Request, _res: Response, next: NextFunction) => {
    const key = presentedKey(req);
    const presentedTenant = req.get('x-tenant-id') || undefined;
    // Only a well-formed tenant id reaches the principal and the rate-limit counts (whose
    // keys it becomes, and which run before the validators); a malformed one is the
    // validator's 400 where an operation takes the header, and ignored where it does not.
    const tenantHeader = presentedTenant !== undefined && TENANT_ID.test(presentedTenant) ? presentedTenant : undefined;
    if (!key) {
      const token = presentedBearer(req.get('authorization'));
      if (token === undefined) return next();
      if (!verifyToken) {
        req.authenticationFailure = 'This server accepts no bearer tokens (none is configured).';
        return next();
      }
      let principal: Principal | string;
      try {
        const check = await verifyToken(token);
        principal = check.ok ? await tokenPrincipal(check.identity, tenantHeader, presentedTenant !== undefined) : check.reason;
      } catch (error) {
        // The token keys or the store did not answer: the token may well be valid. Say so, instead of a 401.
        return next(unavailable((error as Error).name === 'TokenKeysUnavailable' ? 'the token keys (JWKS)' : 'the credential store'));
      }
      if (typeof principal === 'string') req.authenticationFailure = principal;
      else req.principal = principal;
      return next();
    }
    if (adminDigest && timingSafeEqual(digest(key), adminDigest)) {
      try {
        await onBootstrapKeyUse(req);
      } catch {
        return next(new HttpProblem('not_ready', 'Authentication is unavailable: the credential store cannot be reached. Retry shortly.', undefined, {}, { 'Retry-After': '5' }));
      }
      req.principal = {
        kind: 'platform',
        via: 'bootstrap_key',
        keyId: null,
        scopes: [...TENANT_SCOPES, ...PLATFORM_SCOPES],
        tenantId: tenantHeader,
        tenantFromHeader: tenantHeader !== undefined,
        refusedTenantHeader: false,
      };
      return next();
    }
    let found: Awaited<ReturnType<TenantsService['authenticate']>>;
    try {
      const counting = rateLimits?.inKeyLookup(req);
      if (counting) {
        const counted = await tenants.authenticateCounting(key, counting, tenantHeader);
        found = counted?.key;
        if (counted) rateLimits!.countedInKeyLookup(req, counted.counts);
      } else {
        found = await tenants.authenticate(key);
      }
    } catch {
      // The store did not answer: the key may well be valid. Say so, instead of a 401.
      return next(new HttpProblem('not_ready', 'Authentication is unavailable: the credential store cannot be reached. Retry shortly.', undefined, {}, { 'Retry-After': '5' }));
    }
    if (found?.kind === 'platform') {
      // A stored platform key: the operator's, with the scopes it was given (never more than
      // its creator held), acting inside the tenant it names.
      req.principal = {
        kind: 'platform',
        via: 'api_key',
        keyId: found.id,
        scopes: found.scopes,
        tenantId: tenantHeader,
        tenantFromHeader: tenantHeader !== undefined,
        refusedTenantHeader: false,
      };
    } else if (found) {
      req.principal = {
        kind: 'tenant',
        via: 'api_key',
        keyId: found.id,
        // A tenant key never holds a platform scope, whatever a stored row says.
        scopes: found.scopes.filter((scope) => !isPlatformScope(scope)),
        tenantId: found.tenantId,
        tenantFromHeader: false,
        refusedTenantHeader: presentedTenant !== undefined,
      };
    }
    next();
  };
}

/** The security handler of every scheme: a principal was found for the credential presented. */
export const principalFound = (req: Request): boolean => req.principal !== undefined;

/** Why a principal may not run an operation that needs `required`, or undefined when it may. */
export function refusal(principal: Principal, required: readonly string[]): HttpProblem | undefined {
  if (principal.kind !== 'platform' && required.some(isPlatformScope)) {
    return new HttpProblem('forbidden', 'Only a platform key may call the admin API; a tenant key never has platform rights.', undefined, { required_scopes: [...required] });
  }
  const missing = required.filter((scope) => !principal.scopes.includes(scope));
  if (missing.length) return new HttpProblem('forbidden', `This operation needs the ${missing.join(', ')} scope${missing.length > 1 ? 's' : ''}.`, undefined, { required_scopes: missing });
  return undefined;
}
