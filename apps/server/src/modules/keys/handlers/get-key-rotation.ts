/** getKeyRotation: GET /admin/v1/key-rotations/{keyRotationId} — a rotation's progress. */
import type { Handler } from '../../../http/handler.js';

export const getKeyRotation: Handler<'getKeyRotation'> = async ({ path }, { services }) => ({
  status: 200,
  body: await services.keys.getRotation(path.keyRotationId),
});
