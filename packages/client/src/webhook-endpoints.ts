/**
 * webhooks (issue 15): the tenant's webhook endpoints, their signing secrets and delivery log,
 * redelivery of one event and replay of a time range. Needs webhooks:write (webhooks:read to
 * read). Check what arrives at your receiver with verifyWebhook().
 */
import type { QueryParams, RequestBody, ResponseBody } from '@patchbay/api-types';
import { PatchbayError } from './errors.js';
import { Paginator, type Page } from './pagination.js';
import type { CallOptions, InitFor, RawClient } from './resources.js';

export type WebhookEndpoint = ResponseBody<'getWebhookEndpoint', 200>;
export type WebhookEndpointCreate = RequestBody<'createWebhookEndpoint'>;
/** A new endpoint: `signing_secret` is in this reply only. */
export type WebhookEndpointCreated = ResponseBody<'createWebhookEndpoint', 201>;
export type WebhookEndpointPatch = RequestBody<'updateWebhookEndpoint'>;
/** The endpoint with its new `signing_secret` (in this reply only). */
export type WebhookSecretRotated = ResponseBody<'rotateWebhookSecret', 200>;
export type WebhookDelivery = ResponseBody<'redeliverWebhookEvent', 202>;
export type WebhookReplayCreate = RequestBody<'replayWebhookEvents'>;
export type WebhookReplay = ResponseBody<'replayWebhookEvents', 202>;

export interface WebhooksResource {
  /** createWebhookEndpoint: keep `signing_secret`, it is not shown again. */
  create(body: WebhookEndpointCreate, options?: CallOptions): Promise<WebhookEndpointCreated>;
  /** getWebhookEndpoint. */
  get(endpointId: string, options?: CallOptions): Promise<WebhookEndpoint>;
  /** listWebhookEndpoints, every page (oldest first). */
  list(query?: QueryParams<'listWebhookEndpoints'>, options?: CallOptions): Paginator<WebhookEndpoint>;
  /** listWebhookEndpoints, one page. */
  listPage(query?: QueryParams<'listWebhookEndpoints'>, options?: CallOptions): Promise<Page<WebhookEndpoint>>;
  /** updateWebhookEndpoint: a JSON merge patch (url, description, event_types, enabled). */
  update(endpointId: string, patch: WebhookEndpointPatch, options?: CallOptions): Promise<WebhookEndpoint>;
  /** deleteWebhookEndpoint. */
  delete(endpointId: string, options?: CallOptions): Promise<void>;
  /** rotateWebhookSecret: a new secret; the old one keeps signing beside it for `overlapSeconds` (default a day). */
  rotateSecret(endpointId: string, overlapSeconds?: number, options?: CallOptions): Promise<WebhookSecretRotated>;
  /** listWebhookDeliveries, every page (newest first), each with its attempts. */
  deliveries(endpointId: string, query?: QueryParams<'listWebhookDeliveries'>, options?: CallOptions): Paginator<WebhookDelivery>;
  /** listWebhookDeliveries, one page. */
  deliveriesPage(endpointId: string, query?: QueryParams<'listWebhookDeliveries'>, options?: CallOptions): Promise<Page<WebhookDelivery>>;
  /** redeliverWebhookEvent: sends one event again, with its original webhook-id. */
  redeliver(endpointId: string, eventId: string, options?: CallOptions): Promise<WebhookDelivery>;
  /** replayWebhookEvents: queues the stored events of [from, to) (at most 31 days) for the endpoint. */
  replay(endpointId: string, body: WebhookReplayCreate, options?: CallOptions): Promise<WebhookReplay>;
}

type Result<T> = { data?: T; error?: unknown; response: Response };

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw PatchbayError.fromResponse(response, error);
  return data as T;
}

export function webhooksResource(raw: RawClient, init: InitFor): WebhooksResource {
  const path = (webhookEndpointId: string) => ({ path: { webhookEndpointId } });
  const listPage = (query: QueryParams<'listWebhookEndpoints'> = {}, options?: CallOptions) => unwrap(raw.GET('/v1/webhook-endpoints', { params: { query }, ...init(options) }));
  const deliveriesPage = (endpointId: string, query: QueryParams<'listWebhookDeliveries'> = {}, options?: CallOptions) =>
    unwrap(raw.GET('/v1/webhook-endpoints/{webhookEndpointId}/deliveries', { params: { ...path(endpointId), query }, ...init(options) }));
  return {
    create: (body, options) => unwrap(raw.POST('/v1/webhook-endpoints', { body, ...init(options) })),
    get: (endpointId, options) => unwrap(raw.GET('/v1/webhook-endpoints/{webhookEndpointId}', { params: path(endpointId), ...init(options) })),
    list: (query = {}, options) => Paginator.over((q) => listPage(q, options), query),
    listPage,
    update: (endpointId, patch, options) =>
      unwrap(raw.PATCH('/v1/webhook-endpoints/{webhookEndpointId}', { params: path(endpointId), body: patch, ...init(options, { 'Content-Type': 'application/merge-patch+json' }) })),
    delete: async (endpointId, options) => {
      await unwrap(raw.DELETE('/v1/webhook-endpoints/{webhookEndpointId}', { params: path(endpointId), ...init(options) }));
    },
    rotateSecret: (endpointId, overlapSeconds, options) =>
      unwrap(
        raw.POST('/v1/webhook-endpoints/{webhookEndpointId}/rotate-secret', {
          params: { ...path(endpointId), query: overlapSeconds === undefined ? {} : { overlap_seconds: overlapSeconds } },
          ...init(options),
        }),
      ),
    deliveries: (endpointId, query = {}, options) => Paginator.over((q) => deliveriesPage(endpointId, q, options), query),
    deliveriesPage,
    redeliver: (endpointId, eventId, options) =>
      unwrap(raw.POST('/v1/webhook-endpoints/{webhookEndpointId}/deliveries/{eventId}/redeliver', { params: { path: { webhookEndpointId: endpointId, eventId } }, ...init(options) })),
    replay: (endpointId, body, options) => unwrap(raw.POST('/v1/webhook-endpoints/{webhookEndpointId}/replays', { params: path(endpointId), body, ...init(options) })),
  };
}
