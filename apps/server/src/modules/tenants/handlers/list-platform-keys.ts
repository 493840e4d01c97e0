/** listPlatformKeys: GET /admin/v1/platform-keys */
import type { Handler } from '../../../http/handler.js';

export const listPlatformKeys: Handler<'listPlatformKeys'> = async ({ query }, { services }) => ({ status: 200, body: await services.tenants.listPlatformKeys(query) });
