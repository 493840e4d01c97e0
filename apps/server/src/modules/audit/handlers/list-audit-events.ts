/** listAuditEvents: GET /v1/audit-events — the tenant's audit trail (its own for a tenant key; the one X-Tenant-Id names for a platform key). */
import type { Handler } from '../../../http/handler.js';

export const listAuditEvents: Handler<'listAuditEvents'> = async ({ query }, { services, caller }) => ({
  status: 200,
  body: await services.audit.list(caller().tenantId, query),
});
