/** createConnectSession: POST /v1/connect-sessions — a one-time link to the hosted credentials page. */
import type { Handler } from '../../../http/handler.js';

export const createConnectSession: Handler<'createConnectSession'> = async ({ body }, { services, caller, req }) => {
  const base = services.config.publicUrl ?? `${req.protocol}://${req.get('host')}`;
  return { status: 201, body: await services.connectSessions.create(caller(), body, base) };
};
