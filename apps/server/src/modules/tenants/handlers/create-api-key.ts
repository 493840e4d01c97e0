/** createApiKey: POST /admin/v1/tenants/{tenantId}/api-keys — the only response that carries the key. */
import type { Handler } from '../../../http/handler.js';

export const createApiKey: Handler<'createApiKey'> = async ({ path, body }, { services }) => ({
  status: 201,
  body: await services.tenants.createApiKey(path.tenantId, body.name, body.scopes),
});
