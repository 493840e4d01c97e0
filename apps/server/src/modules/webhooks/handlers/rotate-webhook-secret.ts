/** rotateWebhookSecret: POST /v1/webhook-endpoints/{webhookEndpointId}/rotate-secret — the new secret is shown this once. */
import type { Handler } from '../../../http/handler.js';

export const rotateWebhookSecret: Handler<'rotateWebhookSecret'> = async ({ path, query }, { services, caller }) => ({
  status: 200,
  body: await services.webhooks.rotateSecret(caller(), path.webhookEndpointId, query.overlap_seconds),
});
