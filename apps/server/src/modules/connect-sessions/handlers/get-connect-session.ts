/** getConnectSession: GET /v1/connect-sessions/{sessionId} — its state and, once completed, its connections. */
import type { Handler } from '../../../http/handler.js';

export const getConnectSession: Handler<'getConnectSession'> = async ({ path }, { services, caller }) => ({
  status: 200,
  body: await services.connectSessions.get(caller(), path.sessionId),
});
