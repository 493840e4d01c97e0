/** listWebhookEndpoints: GET /v1/webhook-endpoints */
import type { Handler } from '../../../http/handler.js';

export const listWebhookEndpoints: Handler<'listWebhookEndpoints'> = async ({ query }, { services, caller }) => ({
  status: 200,
  body: await services.webhooks.list(caller(), query),
});
