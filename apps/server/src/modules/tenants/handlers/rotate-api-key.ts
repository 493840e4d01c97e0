/** rotateApiKey: POST /admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate — the new key is shown this once. */
import type { Handler } from '../../../http/handler.js';

export const rotateApiKey: Handler<'rotateApiKey'> = async ({ path, query }, { services, acting }) => ({
  status: 200,
  body: await services.tenants.rotateApiKey(acting(), path.tenantId, path.keyId, query.overlap_seconds),
});
