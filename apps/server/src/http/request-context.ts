/** What the server attaches to each request before any handler runs. */
import type { Logger } from '../platform/logger.js';

/**
 * Who is calling. A platform principal is the operator (the bootstrap key of
 * PATCHBAY_ADMIN_KEY, or a token with the configured platform claim): it may call the admin
 * API and act inside any tenant it names with X-Tenant-Id. A tenant principal (a tenant key,
 * or a token naming its tenant) acts in its own tenant, never another, whatever its scopes.
 */
export interface Principal {
  kind: 'platform' | 'tenant';
  /** How it proved who it is: the bootstrap key, an API key, or a Bearer token (JWT). */
  via: 'bootstrap_key' | 'api_key' | 'token';
  /** The API key's id (null for the bootstrap key and for a token). */
  keyId: string | null;
  /** A token's subject (`sub`): the actor the audit trail names for a token. */
  subject?: string;
  scopes: readonly string[];
  /** A tenant key's own tenant, or the tenant a platform principal names with X-Tenant-Id. */
  tenantId: string | undefined;
  /** True when tenantId came from X-Tenant-Id (a platform principal acting inside a tenant). */
  tenantFromHeader: boolean;
  /** A tenant key sent X-Tenant-Id: refused with a 403. */
  refusedTenantHeader: boolean;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      log: Logger;
      principal?: Principal;
      /** Why the credential presented was refused, when that can be said (a bearer token's expiry, issuer, audience): the 401's detail begins with it. */
      authenticationFailure?: string;
    }
  }
}

export {};
