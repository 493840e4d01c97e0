/**
 * @patchbay/client: call Patchbay from Node 20+ or a browser with types generated from the
 * spec. `client.GET('/v1/providers/{slug}', { params: { path: { slug } } })` is checked
 * against the spec at compile time: paths, parameters, bodies and responses.
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { AllPaths } from '@patchbay/api-types';

export type { AllPaths } from '@patchbay/api-types';
export type { OperationId, RequestBody, ResponseBody, QueryParams, PathParams } from '@patchbay/api-types';

export interface PatchbayClientOptions {
  /** Where the server (or the mock) listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  /** Sent as X-Api-Key on every request. */
  apiKey?: string;
  /** The fetch to use (defaults to globalThis.fetch): pass one in rather than mocking globals. */
  fetch?: typeof globalThis.fetch;
  /** Extra headers on every request (X-Tenant-Id for an admin key acting in one tenant). */
  headers?: Record<string, string>;
}

export type PatchbayClient = Client<AllPaths, `${string}/${string}`>;

/** A client of every Patchbay API, typed from the spec. */
export function createPatchbayClient(options: PatchbayClientOptions): PatchbayClient {
  const client = createClient<AllPaths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    headers: { Accept: 'application/json', ...options.headers },
  });
  if (options.apiKey !== undefined) {
    const apiKey = options.apiKey;
    const auth: Middleware = {
      onRequest({ request }) {
        request.headers.set('X-Api-Key', apiKey);
        return request;
      },
    };
    client.use(auth);
  }
  return client;
}
