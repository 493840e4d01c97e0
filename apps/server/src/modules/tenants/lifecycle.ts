/** The rules of a key's life: how long it may live, how long a rotated key keeps working. */
import { invalid } from '../../platform/errors.js';

/** The longest a key may be issued for. A key without expires_at lives until revoked. */
export const MAX_KEY_LIFETIME_MS = 366 * 24 * 3600_000;
/** The shortest: an expiry closer than this is a mistake, not a key. */
export const MIN_KEY_LIFETIME_MS = 60_000;
/** rotate: how long the old key keeps working beside the new one when the caller does not say. */
export const DEFAULT_OVERLAP_SECONDS = 24 * 3600;
/** rotate: the longest overlap (also the spec's maximum of overlap_seconds). */
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

/** Checks a requested expiry (RFC 3339 from the body) against the bounds; undefined: none. */
export function expiryOf(requested: string | undefined, now: Date): Date | null {
  if (requested === undefined) return null;
  const at = new Date(requested);
  const lifetime = at.getTime() - now.getTime();
  if (lifetime < MIN_KEY_LIFETIME_MS) throw invalid([{ pointer: '/expires_at', message: 'must be at least a minute in the future' }]);
  if (lifetime > MAX_KEY_LIFETIME_MS) throw invalid([{ pointer: '/expires_at', message: 'must be at most 366 days in the future' }]);
  return at;
}

/** A live key authenticates: not revoked, and not past its expiry. */
export function isLive(key: { revoked_at: Date | string | null; expires_at: Date | string | null }, now: Date): boolean {
  return key.revoked_at === null && (key.expires_at === null || new Date(key.expires_at).getTime() > now.getTime());
}

/** The successor of a rotated key lives as long as the old one was issued for (none: no expiry). */
export function successorExpiry(old: { created_at: Date | string; expires_at: Date | string | null }, now: Date): Date | null {
  if (old.expires_at === null) return null;
  const lifetime = Math.min(new Date(old.expires_at).getTime() - new Date(old.created_at).getTime(), MAX_KEY_LIFETIME_MS);
  return new Date(now.getTime() + Math.max(lifetime, MIN_KEY_LIFETIME_MS));
}

/** When the old key stops working: the end of the overlap, or its own expiry if sooner. */
export function overlapEnd(old: { expires_at: Date | string | null }, overlapSeconds: number, now: Date): Date {
  const end = new Date(now.getTime() + overlapSeconds * 1000);
  return old.expires_at !== null && new Date(old.expires_at) < end ? new Date(old.expires_at) : end;
}
