/** startKeyRotation: POST /admin/v1/key-rotations — 202: the job runs in the background; follow it with getKeyRotation. */
import type { Handler } from '../../../http/handler.js';

export const startKeyRotation: Handler<'startKeyRotation'> = async ({ body }, { services, acting }) => {
  const rotation = await services.keys.startRotation(acting(), body ?? {});
  return { status: 202, body: rotation, headers: { Location: `/admin/v1/key-rotations/${rotation.id}` } };
};
