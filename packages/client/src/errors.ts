/**
 * What a call can fail with. A response that is not a success is a PatchbayError carrying the
 * problem document (RFC 9457) the API sent; a call that got no response at all is a
 * PatchbayNetworkError or, when it ran out of time, a PatchbayTimeoutError. An abort through
 * the caller's own AbortSignal is not wrapped: it stays the AbortError fetch throws.
 */
import type { ConnectionsSchema } from '@patchbay/api-types';

/** A problem document (RFC 9457), as every Patchbay error response carries. */
export type Problem = ConnectionsSchema<'Problem'>;
/** One violation of a validation problem: a JSON Pointer into the request and a message. */
export type FieldError = ConnectionsSchema<'FieldError'>;

// A brand rather than instanceof alone, so that two copies of this package (a bundle and a
// test, say) still recognise each other's errors.
const BRAND = Symbol.for('patchbay.client.error');

/** An error response from Patchbay (or from something in front of it), with its problem document. */
export class PatchbayError extends Error {
  override readonly name: string = 'PatchbayError';
  /** The HTTP status. */
  readonly status: number;
  /** The stable problem code (`validation_failed`, `not_found`, `version_mismatch`...). */
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  /** The problem type URI. */
  readonly type: string;
  /** The request id (the problem's `request_id`, else the `X-Request-Id` header): quote it when asking for help. */
  readonly requestId: string | undefined;
  /** Every violation of a validation failure; empty otherwise. */
  readonly errors: FieldError[];
  /** The whole problem document, extension members included (`current_version`, `allowed_transitions`...). */
  readonly problem: Problem;
  /** The raw response (its body has been read). */
  readonly response: Response;

  constructor(response: Response, problem: Problem) {
    const requestId = problem.request_id || response.headers.get('x-request-id') || undefined;
    super(`${problem.status} ${problem.code}: ${problem.detail ?? problem.title}${requestId ? ` (request ${requestId})` : ''}`);
    Object.defineProperty(this, BRAND, { value: true });
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.type = problem.type;
    this.requestId = requestId;
    this.errors = problem.errors ?? [];
    this.problem = problem;
    this.response = response;
  }

  /** Narrows to one problem code: `if (e.is('validation_failed')) ...`. */
  is<C extends string>(code: C): this is this & { code: C } {
    return this.code === code;
  }

  /** The messages of a validation failure keyed by JSON Pointer (`/reference`, `/query/limit`). */
  get fieldErrors(): Record<string, string[]> {
    const byPointer: Record<string, string[]> = {};
    for (const { pointer, message } of this.errors) (byPointer[pointer] ??= []).push(message);
    return byPointer;
  }

  /** The error for a non-success response whose body has been parsed (or is the raw text). */
  static fromResponse(response: Response, body: unknown): PatchbayError {
    const problem = asProblem(response, body);
    if (problem.status === 412) return new PatchbayPreconditionFailedError(response, problem);
    return new PatchbayError(response, problem);
  }
}

/**
 * 412 `version_mismatch`: the resource changed since the `If-Match` version was read, and
 * nothing was written. Read it again (its `currentVersion` is the version now) and retry.
 */
export class PatchbayPreconditionFailedError extends PatchbayError {
  override readonly name: string = 'PatchbayPreconditionFailedError';
  /** The version the resource is at now (null when it does not exist yet, for an upsert). */
  readonly currentVersion: number | null;

  constructor(response: Response, problem: Problem) {
    super(response, problem);
    const current = problem['current_version'];
    this.currentVersion = typeof current === 'number' ? current : null;
  }
}

/** No response arrived: the connection was refused, reset or dropped (after every retry allowed). */
export class PatchbayNetworkError extends Error {
  override readonly name: string = 'PatchbayNetworkError';
  constructor(
    readonly request: Request,
    /** How many attempts were made. */
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`${request.method} ${request.url} failed: ${describe(options.cause)}`, options);
  }
}

/** No response arrived within `timeoutMs` (on the last attempt allowed). */
export class PatchbayTimeoutError extends Error {
  override readonly name: string = 'PatchbayTimeoutError';
  constructor(
    readonly request: Request,
    /** How many attempts were made. */
    readonly attempts: number,
    readonly timeoutMs: number,
  ) {
    super(`${request.method} ${request.url} got no complete response within ${timeoutMs} ms`);
  }
}

/** True for an error response from the API; with a code, only for that problem code. */
export function isPatchbayError(error: unknown): error is PatchbayError;
export function isPatchbayError<C extends string>(error: unknown, code: C): error is PatchbayError & { code: C };
export function isPatchbayError(error: unknown, code?: string): boolean {
  if (typeof error !== 'object' || error === null || !(BRAND in error)) return false;
  return code === undefined || (error as unknown as PatchbayError).code === code;
}

/** A problem document from whatever the body was: a proxy's HTML 502 still becomes one. */
function asProblem(response: Response, body: unknown): Problem {
  if (typeof body === 'object' && body !== null && typeof (body as Problem).code === 'string' && typeof (body as Problem).status === 'number') {
    return body as Problem;
  }
  const text = typeof body === 'string' ? body.trim() : '';
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    // Not a Patchbay problem: the answer came from something else (a proxy, a load balancer).
    code: 'unexpected_response',
    ...(text ? { detail: text.length > 500 ? `${text.slice(0, 500)}…` : text } : {}),
    request_id: response.headers.get('x-request-id') ?? '',
  };
}

function describe(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  const inner = (cause as Error & { cause?: unknown }).cause;
  return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
}
