/**
 * Problems (RFC 9457): the one shape every error of the API takes. Handlers throw or return
 * an HttpProblem; the error middleware writes it as application/problem+json with the
 * request id. Nothing else ever reaches a client as an error.
 */
export interface FieldError {
  /** JSON Pointer: body members without prefix, others as /query/x, /path/x, /header/x. */
  pointer: string;
  message: string;
}

/** The stable problem codes, their status and title. The spec documents each one. */
export const PROBLEMS = {
  validation_failed: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The request body is not valid JSON' },
  unauthenticated: { status: 401, title: 'Authentication is required' },
  forbidden: { status: 403, title: 'The API key lacks a required scope' },
  not_found: { status: 404, title: 'The resource was not found' },
  method_not_allowed: { status: 405, title: 'The method is not allowed on this resource' },
  not_acceptable: { status: 406, title: 'No acceptable representation' },
  conflict: { status: 409, title: 'The request conflicts with the current state' },
  version_mismatch: { status: 412, title: 'The resource has changed since it was read' },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'The request body has an unsupported media type' },
  idempotency_key_reused: { status: 422, title: 'The idempotency key was used with another request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal_error: { status: 500, title: 'Something went wrong on our side' },
  credentials_undecryptable: { status: 500, title: 'Stored credentials cannot be decrypted' },
  not_ready: { status: 503, title: 'The service is not ready' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  instance?: string;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** An error that is meant for the client. `extensions` are extra members (allowed_transitions...). */
export class HttpProblem extends Error {
  readonly status: number;
  readonly title: string;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? PROBLEMS[code].title);
    this.name = 'HttpProblem';
    this.status = PROBLEMS[code].status;
    this.title = PROBLEMS[code].title;
  }

  toDocument(requestId: string, instance?: string): ProblemDocument {
    return {
      type: `https://patchbay.dev/problems/${this.code.replaceAll('_', '-')}`,
      title: this.title,
      status: this.status,
      code: this.code,
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      ...(instance === undefined ? {} : { instance }),
      request_id: requestId,
      ...(this.errors === undefined ? {} : { errors: this.errors }),
      ...this.extensions,
    };
  }
}

/** A validation failure listing every violation; `detail` counts the members, not the messages. */
export function validationProblem(errors: FieldError[]): HttpProblem {
  const n = new Set(errors.map((e) => e.pointer)).size;
  return new HttpProblem('validation_failed', `${n} ${n === 1 ? 'field is' : 'fields are'} invalid`, errors);
}
