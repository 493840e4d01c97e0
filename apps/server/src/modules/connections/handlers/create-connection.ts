/** createConnection: POST /v1/connections */
import { draftFromBody } from '../drafts.js';
import type { Handler } from '../../../http/handler.js';
import type { ConnectionResult } from '../service.js';
import { connectionReply } from './reply.js';

export const createConnection: Handler<'createConnection'> = async ({ body }, { services, caller }) => {
  const reply = (result: ConnectionResult) => connectionReply(201, result);
  const who = caller(reply);
  const provider = services.catalog.get(body.provider);
  const draft = draftFromBody(body as unknown as Record<string, unknown>, provider ?? { name: body.provider });
  return reply(await services.connections.create(who, body.provider, draft, body.credentials));
};
