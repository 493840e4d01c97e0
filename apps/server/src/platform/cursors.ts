/**
 * Opaque cursors: the position a page ended at, tagged with the list it belongs to (a list
 * name binds the tenant, the parent resource and the filters), and signed with HMAC-SHA256.
 * A cursor of another list, another tenant or other filters, or one whose bytes were
 * changed, decodes to undefined, and the use case answers `invalidCursor()` (a 400): no
 * client-made position ever reaches a query.
 *
 * The signing key is derived from the master key at start (runtime.ts), so every server
 * process of one deployment accepts the others' cursors. Until it is set, a random key
 * serves the process alone (tests that build a use case without a runtime).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

let signingKey: Buffer = randomBytes(32);

/** Sets the key cursors are signed with; called once at start. */
export function configureCursorSigning(key: Buffer): void {
  signingKey = Buffer.from(key);
}

const mac = (list: string, payload: string): Buffer => createHmac('sha256', signingKey).update(`${list}\u0000${payload}`).digest().subarray(0, 16);

export function encodeCursor(list: string, position: Record<string, unknown>): string {
  const payload = Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
  return `${payload}.${mac(list, payload).toString('base64url')}`;
}

/** The position a cursor encodes, or undefined when it is not one this server made for this list. */
export function decodeCursor(cursor: string, list: string): Record<string, unknown> | undefined {
  const [payload, signature, extra] = cursor.split('.');
  if (!payload || !signature || extra !== undefined) return undefined;
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(list, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof position === 'object' && position !== null && !Array.isArray(position) ? (position as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
