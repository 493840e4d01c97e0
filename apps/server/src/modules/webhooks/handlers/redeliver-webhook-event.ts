/** redeliverWebhookEvent: POST /v1/webhook-endpoints/{webhookEndpointId}/deliveries/{eventId}/redeliver */
import type { Handler } from '../../../http/handler.js';

export const redeliverWebhookEvent: Handler<'redeliverWebhookEvent'> = async ({ path }, { services, caller }) => ({
  status: 202,
  body: await services.webhooks.redeliver(caller(), path.webhookEndpointId, path.eventId),
});
