/** getDefaultProviderConnection: GET /v1/providers/{slug}/default-connection?environment= */
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const getDefaultProviderConnection: Handler<'getDefaultProviderConnection'> = async ({ path, query }, { services, caller }) =>
  connectionReply(200, await services.connections.getDefault(caller(), path.slug, query.environment ?? 'production'));
