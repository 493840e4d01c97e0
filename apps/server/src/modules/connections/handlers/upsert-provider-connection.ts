/** upsertProviderConnection: PUT /v1/providers/{slug}/connections/{reference} — 201 created, 200 updated.
 * `If-None-Match: *` makes it create-only; `If-Match` update-only. */
import { parseIfMatch, parseIfNoneMatch } from '../../../http/preconditions.js';
import type { Handler } from '../../../http/handler.js';
import { connectionReply } from './reply.js';

export const upsertProviderConnection: Handler<'upsertProviderConnection'> = async ({ path, body, headers }, { services, caller }) => {
  const { created, ...result } = await services.connections.upsert(caller(), path.slug, path.reference, body as unknown as Record<string, unknown>, {
    ifMatch: parseIfMatch(headers['if-match']),
    ifNoneMatch: parseIfNoneMatch(headers['if-none-match']),
  });
  return created ? connectionReply(201, result) : connectionReply(200, result);
};
