/** createPlatformKey: POST /admin/v1/platform-keys — the key is shown this once. */
import type { Handler } from '../../../http/handler.js';

export const createPlatformKey: Handler<'createPlatformKey'> = async ({ body }, { services, acting }) => ({
  status: 201,
  body: await services.tenants.createPlatformKey(acting(), body),
});
