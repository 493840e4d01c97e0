/**
 * The fetch every call of a client goes through, raw GET/POST included: it authenticates,
 * names the client, bounds each attempt in time and retries what is safe to retry. It is
 * handed to openapi-fetch as its `fetch`, so the typed methods and the resource helpers
 * share one behaviour.
 */
import { PatchbayNetworkError, PatchbayTimeoutError } from './errors.js';

/** The version this client reports in its User-Agent. */
export const VERSION = '0.1.0';

/** How a client retries. Every bound holds at once: the first one reached stops retrying. */
export interface RetryOptions {
  /** Retries after the first attempt (default 2, so three attempts at most). */
  maxRetries?: number;
  /** The ceiling of the first backoff; each retry doubles it. The wait is random in [0, ceiling] (full jitter). Default 500. */
  initialDelayMs?: number;
  /** The largest backoff ceiling. Default 8000. */
  maxDelayMs?: number;
  /** The longest `Retry-After` honoured; a longer one is cut to this. Default 60000. */
  maxRetryAfterMs?: number;
  /** No retry is waited for past this long after the call began, timeouts included. Default 60000. */
  maxElapsedMs?: number;
}

/** `false` turns retries off, a number is `maxRetries`, `true` or nothing means the defaults. */
export type RetrySetting = boolean | number | RetryOptions;

/** Passed to `onRetry` before each wait. */
export interface RetryEvent {
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** How long the client waits before the next attempt: `Retry-After` when the server sent one, else the backoff. */
  delayMs: number;
  reason: 'network' | 'timeout' | 'status';
  request: Request;
  /** The retryable response (429, 503, or 409 for an idempotent request still in flight). */
  response?: Response;
  error?: unknown;
}

export interface Hooks {
  /** Called before each attempt with the request as it will be sent; may return a replacement. */
  onRequest?: (context: { request: Request; attempt: number }) => void | Request | Promise<void | Request>;
  /** Called with each attempt's response (a clone: reading its body is fine). */
  onResponse?: (context: { request: Request; response: Response; attempt: number }) => void | Promise<void>;
  /** Called before the client waits to retry. */
  onRetry?: (event: RetryEvent) => void;
}

export interface TransportOptions extends Hooks {
  fetch?: typeof globalThis.fetch;
  apiKey?: string;
  token?: string;
  getToken?: () => string | Promise<string>;
  userAgent?: string;
  timeoutMs?: number;
  retries?: RetrySetting;
}

/** What one call may change: its retries, its time bound. */
export interface TransportCallOptions {
  retries?: RetrySetting;
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES: Required<RetryOptions> = { maxRetries: 2, initialDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000, maxElapsedMs: 60_000 };

// RFC 9110 9.2.2: repeating these has the same effect as sending them once.
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/** Resolves a retry setting over a base (the client's), per call. */
export function resolveRetries(setting: RetrySetting | undefined, base: Required<RetryOptions> = DEFAULT_RETRIES): Required<RetryOptions> {
  if (setting === undefined || setting === true) return base;
  if (setting === false) return { ...base, maxRetries: 0 };
  if (typeof setting === 'number') return { ...base, maxRetries: setting };
  return { ...base, ...definedOnly(setting) };
}

/** The wait a `Retry-After` header asks for (delay-seconds or an HTTP date), in ms. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** A fresh Idempotency-Key: a v4 UUID (crypto.randomUUID needs a secure context in browsers, hence the fallback). */
export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === 'function') {
    try {
      return c.randomUUID();
    } catch {
      // not a secure context: build one from getRandomValues below
    }
  }
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Builds the client's fetch; `forCall` gives one that applies a call's own options. */
export function createTransport(options: TransportOptions) {
  const baseRetries = resolveRetries(options.retries);
  const baseTimeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const userAgent = [options.userAgent, `patchbay-client/${VERSION}`].filter(Boolean).join(' ');
  // Browsers own their User-Agent, and setting it would only add a CORS preflight header.
  const inBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';

  async function authenticate(request: Request): Promise<void> {
    const headers = request.headers;
    if (options.apiKey !== undefined && !headers.has('x-api-key')) headers.set('X-Api-Key', options.apiKey);
    if (!headers.has('authorization')) {
      // getToken is asked on every attempt, so a retry carries a token refreshed meanwhile.
      const token = options.getToken ? await options.getToken() : options.token;
      if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
    }
    if (!inBrowser && !headers.has('user-agent')) headers.set('User-Agent', userAgent);
  }

  function forCall(call: TransportCallOptions = {}) {
    const retries = resolveRetries(call.retries, baseRetries);
    const timeoutMs = call.timeoutMs ?? baseTimeout;
    const fetchImpl = options.fetch ?? globalThis.fetch;

    return async function patchbayFetch(original: Request): Promise<Response> {
      const started = Date.now();
      const userSignal = original.signal;
      const mayRetry = IDEMPOTENT_METHODS.has(original.method) || original.headers.has('idempotency-key');

      for (let attempt = 1; ; attempt++) {
        // Each attempt sends a clone, so the body can be sent again.
        let request = original.clone();
        await authenticate(request);
        if (options.onRequest) request = (await options.onRequest({ request, attempt })) ?? request;

        const outcome = await sendOnce(fetchImpl, request, timeoutMs, userSignal);
        if ('response' in outcome && options.onResponse) await options.onResponse({ request, response: outcome.response.clone(), attempt });

        const retryable =
          mayRetry &&
          attempt <= retries.maxRetries &&
          ('error' in outcome || isRetryableStatus(outcome.response, request));
        let delayMs: number | undefined;
        if (retryable) {
          const asked = 'response' in outcome ? parseRetryAfter(outcome.response.headers.get('retry-after')) : undefined;
          delayMs =
            asked !== undefined
              ? Math.min(asked, retries.maxRetryAfterMs)
              : Math.round(Math.random() * Math.min(retries.maxDelayMs, retries.initialDelayMs * 2 ** (attempt - 1)));
          // A wait that would end past the time budget is not taken: the caller hears now.
          if (Date.now() - started + delayMs > retries.maxElapsedMs) delayMs = undefined;
        }

        if (delayMs === undefined) {
          if ('response' in outcome) return outcome.response;
          if (outcome.timedOut) throw new PatchbayTimeoutError(request, attempt, timeoutMs);
          throw new PatchbayNetworkError(request, attempt, { cause: outcome.error });
        }
        options.onRetry?.({
          attempt,
          delayMs,
          reason: 'response' in outcome ? 'status' : outcome.timedOut ? 'timeout' : 'network',
          request,
          ...('response' in outcome ? { response: outcome.response } : { error: outcome.error }),
        });
        await sleep(delayMs, userSignal);
      }
    };
  }

  return { forCall, fetch: forCall() };
}

type Outcome = { response: Response } | { error: unknown; timedOut: boolean };

/** One attempt: the response with its body read, all within timeoutMs. */
async function sendOnce(fetchImpl: typeof globalThis.fetch, request: Request, timeoutMs: number, userSignal: AbortSignal): Promise<Outcome> {
  const controller = new AbortController();
  const abort = () => controller.abort(userSignal.reason);
  if (userSignal.aborted) throw userSignal.reason;
  userSignal.addEventListener('abort', abort, { once: true });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  try {
    // The signal goes in fetch's own init, not into a wrapping `new Request(request, { signal })`:
    // such a Request follows our signal only through a weak reference, and once a garbage
    // collection has taken the wrapper an abort no longer reaches the request (seen with
    // Node 20's fetch: a 10 s timeout that fired but aborted nothing until the peer hung up).
    const response = await fetchImpl(request, { signal: controller.signal });
    // The body is read here, under the same time bound, so a stall mid-body is a timeout too
    // (and a retryable one) rather than a hang in the caller's JSON parsing.
    const body = await response.arrayBuffer();
    const copy = new Response(NULL_BODY_STATUSES.has(response.status) || body.byteLength === 0 ? null : body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    Object.defineProperty(copy, 'url', { value: response.url });
    return { response: copy };
  } catch (error) {
    // The caller's own abort is theirs to handle: no retry, no wrapping.
    if (userSignal.aborted) throw userSignal.reason;
    return { error, timedOut };
  } finally {
    clearTimeout(timer);
    userSignal.removeEventListener('abort', abort);
  }
}

/**
 * 429 and 503 say "not now"; a 409 with Retry-After on a request with an Idempotency-Key is
 * Patchbay saying the first request with that key is still in flight (docs/decisions/0007).
 */
function isRetryableStatus(response: Response, request: Request): boolean {
  if (response.status === 429 || response.status === 503) return true;
  return response.status === 409 && response.headers.has('retry-after') && request.headers.has('idempotency-key');
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
