/**
 * createPatchbayClient: openapi-fetch's typed GET/POST/PUT/PATCH/DELETE over the spec's
 * paths, plus resource helpers, all sharing one transport (auth, timeouts, retries, hooks).
 */
import createClient from 'openapi-fetch';
import type { AllPaths } from '@patchbay/api-types';
import { auditEventsResource, connectionsResource, providersResource, type AuditEventsResource, type CallOptions, type ConnectionsResource, type InitFor, type ProvidersResource, type RawClient } from './resources.js';
import { connectSessionsResource, type ConnectSessionsResource } from './connect-sessions.js';
import { webhooksResource, type WebhooksResource } from './webhook-endpoints.js';
import { createTransport, type Hooks, type RetrySetting } from './transport.js';

export interface PatchbayClientOptions extends Hooks {
  /** Where the server (or the mock) listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Sent as X-Api-Key: what the server accepts today. */
  apiKey?: string;
  /** Sent as `Authorization: Bearer <token>`: a JWT from the identity provider the server trusts (see the README). */
  token?: string;
  /** Asked for a bearer token before every attempt, so a refreshed token is used on retries. */
  getToken?: () => string | Promise<string>;
  /** X-Tenant-Id on every request: an admin key acting inside one tenant. */
  tenantId?: string;
  /** The fetch to use (default globalThis.fetch): pass one in rather than mocking globals. */
  fetch?: typeof globalThis.fetch;
  /** The longest one attempt may take, response body included (default 30000). */
  timeoutMs?: number;
  /** Retries of network errors, timeouts, 429 and 503 for idempotent requests (default: 2, with backoff). */
  retries?: RetrySetting;
  /** Your application's name and version, put before `patchbay-client/x.y.z` in User-Agent (outside browsers). */
  userAgent?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

/** A client of every Patchbay API: the raw typed methods and the resource helpers. */
export interface PatchbayClient extends RawClient {
  readonly connections: ConnectionsResource;
  readonly providers: ProvidersResource;
  readonly auditEvents: AuditEventsResource;
  /** One-time links to the hosted credentials page (issue 14). */
  readonly connectSessions: ConnectSessionsResource;
  /** Webhook endpoints, their secrets, delivery log, redelivery and replay (issue 15). */
  readonly webhooks: WebhooksResource;
  /** A client like this one with some options changed (`withOptions({ retries: false, tenantId })`). */
  withOptions(overrides: Partial<PatchbayClientOptions>): PatchbayClient;
}

const AUTH_OPTIONS = ['apiKey', 'token', 'getToken'] as const;

/** A client of every Patchbay API, typed from the spec. */
export function createPatchbayClient(options: PatchbayClientOptions): PatchbayClient {
  const given = AUTH_OPTIONS.filter((name) => options[name] !== undefined);
  if (given.length > 1) throw new TypeError(`createPatchbayClient: give one of apiKey, token or getToken, not ${given.join(' and ')}`);

  const transport = createTransport(options);
  const raw: RawClient = createClient<AllPaths, `${string}/${string}`>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetch: transport.fetch,
    headers: {
      Accept: 'application/json, application/problem+json',
      ...(options.tenantId === undefined ? {} : { 'X-Tenant-Id': options.tenantId }),
      ...options.headers,
    },
  });

  const init: InitFor = (call: CallOptions = {}, headers = {}) => ({
    fetch: transport.forCall(call),
    ...(call.signal ? { signal: call.signal } : {}),
    headers: { ...(call.tenantId === undefined ? {} : { 'X-Tenant-Id': call.tenantId }), ...headers, ...call.headers },
  });

  return Object.assign(raw, {
    connections: connectionsResource(raw, init),
    providers: providersResource(raw, init),
    auditEvents: auditEventsResource(raw, init),
    connectSessions: connectSessionsResource(raw, init),
    webhooks: webhooksResource(raw, init),
    withOptions(overrides: Partial<PatchbayClientOptions>): PatchbayClient {
      // New credentials replace the old ones rather than clash with them.
      const auth = AUTH_OPTIONS.some((name) => overrides[name] !== undefined) ? { apiKey: undefined, token: undefined, getToken: undefined } : {};
      const retries =
        typeof options.retries === 'object' && typeof overrides.retries === 'object' ? { ...options.retries, ...overrides.retries } : (overrides.retries ?? options.retries);
      return createPatchbayClient({
        ...options,
        ...auth,
        ...overrides,
        ...(retries === undefined ? {} : { retries }),
        headers: { ...options.headers, ...overrides.headers },
      });
    },
  });
}
