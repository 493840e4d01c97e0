/** createApiKey: POST /admin/v1/tenants/{tenantId}/api-keys — one of the two responses that carry a key (rotation is the other). */
import type { Handler } from '../../../http/handler.js';

export const createApiKey: Handler<'createApiKey'> = async ({ path, body }, { services, acting }) => ({
  status: 201,
  body: await services.tenants.createApiKey(acting(), path.tenantId, body),
});
