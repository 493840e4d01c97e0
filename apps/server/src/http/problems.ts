/**
 * The one table from domain errors to problem documents (RFC 9457). A use case throws a
 * DomainError with a code and the inputs at fault; here each code gets its status and
 * title from the shared problem table, and each named input the request pointer it travels
 * in. A code or an input this table cannot place is a compile error.
 */
import { HttpProblem, validationProblem, type FieldError, type ProblemCode } from '@patchbay/openapi-http';
import { DomainError, type DomainErrorCode, type FieldIssue, type NamedInput } from '../platform/errors.js';

const PROBLEM_OF = {
  validation_failed: 'validation_failed',
  forbidden: 'forbidden',
  not_found: 'not_found',
  conflict: 'conflict',
  version_mismatch: 'version_mismatch',
  idempotency_key_reused: 'idempotency_key_reused',
  not_ready: 'not_ready',
  credentials_undecryptable: 'credentials_undecryptable',
} as const satisfies Record<DomainErrorCode, ProblemCode>;

/** Where each named input travels in a request. */
const POINTER_OF = {
  cursor: '/query/cursor',
  if_match: '/header/if-match',
  reference: '/path/reference',
} as const satisfies Record<NamedInput, string>;

const toFieldError = (issue: FieldIssue): FieldError =>
  'input' in issue ? { pointer: POINTER_OF[issue.input], message: issue.message } : { pointer: issue.pointer, message: issue.message };

export function toHttpProblem(error: DomainError): HttpProblem {
  const errors = error.issues?.map(toFieldError);
  // A validation failure with no message of its own says how many members are at fault.
  if (error.code === 'validation_failed' && error.message === '' && errors) return validationProblem(errors);
  const headers: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(error.retryAfterSeconds) };
  return new HttpProblem(PROBLEM_OF[error.code], error.message, errors, error.details, headers);
}

/** Anything a handler threw, as the edge reports it: domain errors become problems. */
export const asHttpError = (error: unknown): unknown => (error instanceof DomainError ? toHttpProblem(error) : error);
