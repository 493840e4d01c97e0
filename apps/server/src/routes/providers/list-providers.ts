/** listProviders: GET /v1/providers */
import type { Handler } from '../../http/handler.js';
import { invalidCursor } from '../../domain/pagination.js';

export const listProviders: Handler<'listProviders'> = ({ query }, { services }) => {
  const page = services.catalog.list({
    limit: query.limit ?? 50,
    ...(query.category === undefined ? {} : { category: query.category }),
    ...(query.auth_type === undefined ? {} : { auth_type: query.auth_type }),
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  });
  if (page === 'invalid_cursor') {
    throw invalidCursor('The cursor is not one this list returned.');
  }
  return { status: 200, body: page };
};
