/** listConnectionEvents: GET /v1/connections/{connectionId}/events */
import type { Handler } from '../../../http/handler.js';

export const listConnectionEvents: Handler<'listConnectionEvents'> = async ({ path, query }, { services, caller }) => ({
  status: 200,
  body: await services.connections.listEvents(caller(), path.connectionId, query),
});
