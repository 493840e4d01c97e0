/** deleteWebhookEndpoint: DELETE /v1/webhook-endpoints/{webhookEndpointId} */
import type { Handler } from '../../../http/handler.js';

export const deleteWebhookEndpoint: Handler<'deleteWebhookEndpoint'> = async ({ path }, { services, caller }) => {
  await services.webhooks.delete(caller(), path.webhookEndpointId);
  return { status: 204, body: undefined };
};
