/** revokeApiKey: DELETE /admin/v1/tenants/{tenantId}/api-keys/{keyId} */
import type { Handler } from '../../../http/handler.js';

export const revokeApiKey: Handler<'revokeApiKey'> = async ({ path }, { services, acting }) => ({
  status: 200,
  body: await services.tenants.revokeApiKey(acting(), path.tenantId, path.keyId),
});
