/** getWebhookEndpoint: GET /v1/webhook-endpoints/{webhookEndpointId} */
import type { Handler } from '../../../http/handler.js';

export const getWebhookEndpoint: Handler<'getWebhookEndpoint'> = async ({ path }, { services, caller }) => ({
  status: 200,
  body: await services.webhooks.get(caller(), path.webhookEndpointId),
});
