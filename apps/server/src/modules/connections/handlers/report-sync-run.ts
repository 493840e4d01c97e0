/** reportSyncRun: POST /v1/connections/{connectionId}/sync-runs */
import type { Handler } from '../../../http/handler.js';
import type { ApiSyncRun } from '../types.js';

export const reportSyncRun: Handler<'reportSyncRun'> = async ({ path, body }, { services, caller }) => {
  const reply = (run: ApiSyncRun) => ({ status: 201 as const, body: run });
  return reply(await services.connections.reportSyncRun(caller(reply), path.connectionId, body));
};
