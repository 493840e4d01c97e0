/** listConnectSessions: GET /v1/connect-sessions — the tenant's sessions, newest first. */
import type { Handler } from '../../../http/handler.js';

export const listConnectSessions: Handler<'listConnectSessions'> = async ({ query }, { services, caller }) => ({
  status: 200,
  body: await services.connectSessions.list(caller(), query),
});
