/** getProvider: GET /v1/providers/{slug} */
import type { Handler } from '../../http/handler.js';
import { HttpProblem } from '@patchbay/openapi-http';

export const getProvider: Handler<'getProvider'> = ({ path }, { services }) => {
  const provider = services.catalog.get(path.slug);
  if (!provider) throw new HttpProblem('not_found', `No provider with slug '${path.slug}'.`);
  return { status: 200, body: provider };
};
