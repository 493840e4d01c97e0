/** Who a use case acts for: the tenant, the actor the audit trail names, and the request. */
import type { ActorRow } from './db/schema.js';

export interface Caller {
  tenantId: string;
  actor: ActorRow;
  requestId: string;
}
