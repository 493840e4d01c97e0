/** getProvider: GET /v1/providers/{slug} */
import type { Handler } from '../../../http/handler.js';
import { providerNotFound } from '../errors.js';

export const getProvider: Handler<'getProvider'> = ({ path }, { services }) => {
  const provider = services.catalog.get(path.slug);
  if (!provider) throw providerNotFound(path.slug);
  return { status: 200, body: provider };
};
