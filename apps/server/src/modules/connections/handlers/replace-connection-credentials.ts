/** replaceConnectionCredentials: PUT /v1/connections/{connectionId}/credentials */
import { parseIfMatch } from '../../../http/preconditions.js';
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const replaceConnectionCredentials: Handler<'replaceConnectionCredentials'> = async ({ path, body, headers }, { services, caller }) =>
  connectionReply(200, await services.connections.replaceCredentials(caller(), path.connectionId, body.credentials, parseIfMatch(headers['if-match'])));
