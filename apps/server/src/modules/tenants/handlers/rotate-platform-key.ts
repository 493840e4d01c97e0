/** rotatePlatformKey: POST /admin/v1/platform-keys/{keyId}/rotate — the new key is shown this once. */
import type { Handler } from '../../../http/handler.js';

export const rotatePlatformKey: Handler<'rotatePlatformKey'> = async ({ path, query }, { services, acting }) => ({
  status: 200,
  body: await services.tenants.rotatePlatformKey(acting(), path.keyId, query.overlap_seconds),
});
