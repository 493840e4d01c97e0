/** What the client suites share: a fresh tenant, a client that reaches the real server
 * through a flaky proxy (closed when the test ends), and one that reaches it directly. */
import { onTestFinished } from 'vitest';
import { createPatchbayClient, type PatchbayClientOptions, type RetryEvent } from '@patchbay/client';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { newTenantKey, type Target } from '../support/targets.js';
import { buildConnection, type ConnectionCreate } from '../api/factories.js';

/** Backoff small enough that a test never waits long, and Retry-After cut to a few ms. */
export const FAST_RETRIES = { initialDelayMs: 1, maxDelayMs: 5, maxRetryAfterMs: 5 } as const;

export async function proxiedTenant(target: Target, options: Partial<PatchbayClientOptions> = {}) {
  const key = await newTenantKey(target);
  const proxy = await startFlakyProxy(target.baseUrl);
  onTestFinished(() => proxy.close());
  const retries: RetryEvent[] = [];
  const client = createPatchbayClient({
    baseUrl: proxy.url,
    apiKey: key.apiKey,
    onRetry: (event) => retries.push(event),
    ...options,
    retries: typeof options.retries === 'object' ? { ...FAST_RETRIES, ...options.retries } : (options.retries ?? FAST_RETRIES),
  });
  const direct = createPatchbayClient({ baseUrl: target.baseUrl, apiKey: key.apiKey });
  return { ...key, proxy, client, direct, retries };
}

/** A createConnection body for Stripe with complete credentials (the factories' one builder). */
export const stripeConnection = (overrides: { reference?: string; name?: string; priority?: number } = {}) => buildConnection(overrides) as ConnectionCreate & { provider: 'stripe'; reference: string };

/** Requests of one method to paths starting with `prefix` (query string ignored). */
export const to = (method: string, prefix: string) => (request: { method: string; path: string }) =>
  request.method === method && request.path.split('?')[0]!.startsWith(prefix);

/** Requests of one method to exactly this path (query string ignored). */
export const exactly = (method: string, path: string) => (request: { method: string; path: string }) =>
  request.method === method && request.path.split('?')[0] === path;

/** The rejection of a promise that must reject (fails the test when it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, and it succeeded');
}
