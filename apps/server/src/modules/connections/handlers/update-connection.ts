/** updateConnection: PATCH /v1/connections/{connectionId} (JSON merge patch) */
import { parseIfMatch } from '../../../http/preconditions.js';
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const updateConnection: Handler<'updateConnection'> = async ({ path, body, headers }, { services, caller }) => {
  const result = await services.connections.update(caller(), path.connectionId, body as Record<string, unknown>, parseIfMatch(headers['if-match']));
  return connectionReply(200, result);
};
