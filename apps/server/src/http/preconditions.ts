/** Conditional requests (RFC 9110 13.1.1): the version an If-Match header names. */
import { HttpProblem } from '@patchbay/openapi-http';

/** The version an If-Match header names, or undefined for none / `*`. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match) throw new HttpProblem('validation_failed', 'If-Match must be an ETag this API sent, like "3".', [{ pointer: '/header/if-match', message: 'is not an ETag' }]);
  return Number(match[1]);
}
