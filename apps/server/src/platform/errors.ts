/**
 * Expected failures of a use case, without HTTP: a code from the spec's problem table, a
 * message for a person, and the inputs at fault. A use case never knows which header, path
 * segment or query parameter an input came from; http/problems.ts maps each error to its
 * problem document, and each named input to its request pointer (`/query/cursor`).
 */

/** The problem codes a use case may signal; http/problems.ts maps each one to a status. */
export type DomainErrorCode = 'validation_failed' | 'forbidden' | 'not_found' | 'conflict' | 'version_mismatch' | 'idempotency_key_reused' | 'not_ready' | 'credentials_undecryptable';

/** Inputs that are not body members: the edge knows where each one travels. */
export type NamedInput = 'cursor' | 'if_match' | 'reference';

/** One input at fault: a JSON Pointer into the request body, or a named input. */
export type FieldIssue = { pointer: string; message: string } | { input: NamedInput; message: string };

export interface DomainErrorOptions {
  issues?: FieldIssue[];
  /** Extra members of the problem (allowed_transitions, current_version, checks, ...). */
  details?: Record<string, unknown>;
  /** When the same request may succeed if retried: seconds to wait. */
  retryAfterSeconds?: number;
}

export class DomainError extends Error {
  readonly issues: FieldIssue[] | undefined;
  readonly details: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message);
    this.name = 'DomainError';
    this.issues = options.issues;
    this.details = options.details ?? {};
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A validation failure listing every issue. */
export const invalid = (issues: FieldIssue[], message?: string): DomainError =>
  new DomainError('validation_failed', message ?? '', { issues });

/** The one answer to a cursor that is not one of this list's. */
export const invalidCursor = (message = 'The cursor does not belong to this list.'): DomainError =>
  new DomainError('validation_failed', message, { issues: [{ input: 'cursor', message: 'is not a valid cursor for this query' }] });
