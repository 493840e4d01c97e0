/** updateWebhookEndpoint: PATCH /v1/webhook-endpoints/{webhookEndpointId} (JSON merge patch) */
import type { Handler } from '../../../http/handler.js';

export const updateWebhookEndpoint: Handler<'updateWebhookEndpoint'> = async ({ path, body }, { services, caller }) => ({
  status: 200,
  body: await services.webhooks.update(caller(), path.webhookEndpointId, body),
});
