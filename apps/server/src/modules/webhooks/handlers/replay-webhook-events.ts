/** replayWebhookEvents: POST /v1/webhook-endpoints/{webhookEndpointId}/replays */
import type { Handler } from '../../../http/handler.js';

export const replayWebhookEvents: Handler<'replayWebhookEvents'> = async ({ path, body }, { services, caller }) => ({
  status: 202,
  body: await services.webhooks.replay(caller(), path.webhookEndpointId, body),
});
