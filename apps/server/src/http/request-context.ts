/** What the server attaches to each request before any handler runs. */
import type { Logger } from '../platform/logger.js';

/** Who is calling, in which tenant, with which scopes. */
export interface Principal {
  kind: 'bootstrap_admin' | 'api_key';
  /** The API key's id (null for the bootstrap key). */
  keyId: string | null;
  scopes: readonly string[];
  /** The key's own tenant, or for an admin key the tenant named by X-Tenant-Id. */
  tenantId: string | undefined;
  /** True when tenantId came from X-Tenant-Id (an admin key acting inside a tenant). */
  tenantFromHeader: boolean;
  /** A key without the admin scope sent X-Tenant-Id: refused with a 403. */
  refusedTenantHeader: boolean;
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      log: Logger;
      principal?: Principal;
    }
  }
}

export {};
