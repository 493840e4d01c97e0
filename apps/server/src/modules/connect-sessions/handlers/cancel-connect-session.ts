/** cancelConnectSession: POST /v1/connect-sessions/{sessionId}/cancel — ends a pending session. */
import type { Handler } from '../../../http/handler.js';

export const cancelConnectSession: Handler<'cancelConnectSession'> = async ({ path }, { services, caller }) => ({
  status: 200,
  body: await services.connectSessions.cancel(caller(), path.sessionId),
});
