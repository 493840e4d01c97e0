/** reportSyncRun: POST /v1/connections/{connectionId}/sync-runs */
import type { Handler } from '../../../http/handler.js';

export const reportSyncRun: Handler<'reportSyncRun'> = async ({ path, body }, { services, caller }) => ({
  status: 201,
  body: await services.connections.reportSyncRun(caller(), path.connectionId, body),
});
