/**
 * @patchbay/client: call Patchbay from Node 20+ or a browser with types generated from the
 * spec. `client.GET('/v1/providers/{slug}', { params: { path: { slug } } })` is checked
 * against the spec at compile time: paths, parameters, bodies and responses; the resource
 * helpers (`client.connections.create(...)`) add retries, idempotency keys, pagination,
 * If-Match and typed errors on top.
 */
export { createPatchbayClient, type PatchbayClient, type PatchbayClientOptions } from './client.js';
export {
  isPatchbayError,
  PatchbayError,
  PatchbayNetworkError,
  PatchbayPreconditionFailedError,
  PatchbayTimeoutError,
  type FieldError,
  type Problem,
} from './errors.js';
export { Paginator, type Page } from './pagination.js';
export { type ConnectSession, type ConnectSessionCreate, type ConnectSessionCreated, type ConnectSessionsResource } from './connect-sessions.js';
export { verifyWebhook, WebhookVerificationError, type VerifyWebhookOptions, type WebhookEvent } from './webhooks.js';
export {
  type WebhookDelivery,
  type WebhookEndpoint,
  type WebhookEndpointCreate,
  type WebhookEndpointCreated,
  type WebhookEndpointPatch,
  type WebhookReplay,
  type WebhookReplayCreate,
  type WebhookSecretRotated,
  type WebhooksResource,
} from './webhook-endpoints.js';
export {
  ifMatchHeader,
  type AuditEventsResource,
  type CallOptions,
  type ConnectionsResource,
  type CreateOptions,
  type IfMatch,
  type ModifyOptions,
  type ProvidersResource,
  type RawClient,
  type UpsertResult,
  type WriteOptions,
} from './resources.js';
export { newIdempotencyKey, parseRetryAfter, VERSION, type Hooks, type RetryEvent, type RetryOptions, type RetrySetting } from './transport.js';
export type * from './types.js';

export type { AllPaths, OperationId, RequestBody, ResponseBody, QueryParams, PathParams, HeaderParams, ProviderCredentials, ProviderSettings, ProviderSlug } from '@patchbay/api-types';
