/** What makes two requests with one Idempotency-Key "the same request": the operation, its
 * path parameters and its body, over canonical JSON (key order does not count), as a keyed
 * HMAC-SHA-256. Bodies carry plaintext credentials: without the key, a stored hash could
 * confirm a guessed password (decision 0020). */
import { createHmac } from 'node:crypto';

/** Canonical JSON: object keys sorted, so that key order does not change the hash. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value as Record<string, unknown>)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

/** Prefixed, so that a hash of another kind (a retired unkeyed one) can never compare equal. */
export function requestHash(key: Buffer, operationId: string, path: unknown, body: unknown): string {
  return `hmac-sha256:${createHmac('sha256', key).update(canonical([operationId, path, body])).digest('hex')}`;
}
