/** listProviders: GET /v1/providers */
import type { Handler } from '../../../http/handler.js';

export const listProviders: Handler<'listProviders'> = ({ query }, { services }) => ({
  status: 200,
  body: services.catalog.list({
    limit: query.limit ?? 50,
    ...(query.category === undefined ? {} : { category: query.category }),
    ...(query.auth_type === undefined ? {} : { auth_type: query.auth_type }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  }),
});
