/** listWebhookDeliveries: GET /v1/webhook-endpoints/{webhookEndpointId}/deliveries */
import type { Handler } from '../../../http/handler.js';

export const listWebhookDeliveries: Handler<'listWebhookDeliveries'> = async ({ path, query }, { services, caller }) => ({
  status: 200,
  body: await services.webhooks.listDeliveries(caller(), path.webhookEndpointId, query),
});
