/** Who a use case acts for: the tenant, the actor the audit trail names, the request, and its scopes. */
import type { ActorRow } from './db/schema.js';

export interface Caller {
  tenantId: string;
  actor: ActorRow;
  requestId: string;
  /** What the principal may do; a use case checks the field-level ones (credentials:write). */
  scopes: readonly string[];
}
