/** Prefixed, time-ordered ids (ULID layout, lowercase Crockford base32): `conn_01jd5q...`.
 * The time part keeps inserts roughly ordered in the primary-key index. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function ulid(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (let i = 0; i < 16; i++) random += ALPHABET[bytes[i]! % 32];
  return time + random;
}

export type IdPrefix = 'cs' | 'conn' | 'ten' | 'key' | 'evt' | 'run' | 'aud' | 'whe';
export const newId = (prefix: IdPrefix): string => `${prefix}_${ulid()}`;
