/** getConnection: GET /v1/connections/{connectionId} — the hot path: one query for the key, one for the connection. */
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const getConnection: Handler<'getConnection'> = async ({ path }, { services, caller }) =>
  connectionReply(200, await services.connections.get(caller(), path.connectionId));
