/** revokePlatformKey: DELETE /admin/v1/platform-keys/{keyId} */
import type { Handler } from '../../../http/handler.js';

export const revokePlatformKey: Handler<'revokePlatformKey'> = async ({ path }, { services, acting }) => ({
  status: 200,
  body: await services.tenants.revokePlatformKey(acting(), path.keyId),
});
