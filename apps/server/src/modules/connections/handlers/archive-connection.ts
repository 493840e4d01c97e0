/** archiveConnection: DELETE /v1/connections/{connectionId} — answers 200 with the archived connection. */
import { parseIfMatch } from '../../../http/preconditions.js';
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const archiveConnection: Handler<'archiveConnection'> = async ({ path, headers }, { services, caller }) =>
  connectionReply(200, await services.connections.archive(caller(), path.connectionId, parseIfMatch(headers['if-match'])));
