/** listApiKeys: GET /admin/v1/tenants/{tenantId}/api-keys */
import type { Handler } from '../../../http/handler.js';

export const listApiKeys: Handler<'listApiKeys'> = async ({ path, query }, { services }) => ({ status: 200, body: await services.tenants.listApiKeys(path.tenantId, query) });
