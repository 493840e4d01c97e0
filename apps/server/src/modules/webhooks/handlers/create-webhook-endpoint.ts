/** createWebhookEndpoint: POST /v1/webhook-endpoints — the signing secret is shown this once. */
import type { Handler } from '../../../http/handler.js';

export const createWebhookEndpoint: Handler<'createWebhookEndpoint'> = async ({ body }, { services, caller }) => {
  const created = await services.webhooks.create(caller(), body);
  return { status: 201, body: created, headers: { location: `/v1/webhook-endpoints/${created.id}` } };
};
