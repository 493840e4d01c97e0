/** What makes two requests with one Idempotency-Key "the same request": the operation,
 * its path parameters and its body, hashed over canonical JSON (key order does not count). */
import { createHash } from 'node:crypto';

/** Canonical JSON: object keys sorted, so that key order does not change the hash. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value as Record<string, unknown>)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

export function requestHash(operationId: string, path: unknown, body: unknown): string {
  return createHash('sha256').update(canonical([operationId, path, body])).digest('hex');
}
