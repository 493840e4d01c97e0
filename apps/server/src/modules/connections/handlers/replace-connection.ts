/** replaceConnection: PUT /v1/connections/{connectionId} */
import { parseIfMatch } from '../../../http/preconditions.js';
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const replaceConnection: Handler<'replaceConnection'> = async ({ path, body, headers }, { services, caller }) => {
  const result = await services.connections.replace(caller(), path.connectionId, body as unknown as Record<string, unknown>, parseIfMatch(headers['if-match']));
  return connectionReply(200, result);
};
