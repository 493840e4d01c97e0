/** listConnections: GET /v1/connections */
import type { Handler } from '../../../http/handler.js';

export const listConnections: Handler<'listConnections'> = async ({ query }, { services, caller }) => {
  const page = await services.connections.list(caller(), query, { totalCap: services.config.totalCountCap });
  return { status: 200, body: page };
};
