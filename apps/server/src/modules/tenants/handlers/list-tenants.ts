/** listTenants: GET /admin/v1/tenants */
import type { Handler } from '../../../http/handler.js';

export const listTenants: Handler<'listTenants'> = async ({ query }, { services }) => ({ status: 200, body: await services.tenants.listTenants(query) });
