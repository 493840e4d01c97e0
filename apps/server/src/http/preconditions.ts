/**
 * Conditional requests (RFC 9110 13.1.1 and 13.1.2). Writes compare entity-tags strongly: a
 * weak tag (`W/"3"`) never matches, and neither does a tag this API never sent; either is a
 * 412, not a 400. `*` matches any existing resource, and only an existing one.
 */
import type { Precondition } from '../platform/preconditions.js';

/** The versions a list of entity-tags names: only strong tags of the form "<version>" can match. */
function versionsOf(header: string): number[] {
  const versions: number[] = [];
  for (const match of header.matchAll(/(W\/)?"([^"]*)"/g)) {
    if (!match[1] && /^\d{1,15}$/.test(match[2]!)) versions.push(Number(match[2]));
  }
  return versions;
}

/** The precondition an If-Match header sets, or undefined when there is none. (The spec
 * checks the syntax: a list of entity-tags, or `*`.) */
export function parseIfMatch(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  return header.trim() === '*' ? { exists: true } : { versions: versionsOf(header) };
}

/** The precondition an If-None-Match header sets on a write: `*` means "only if it does not
 * exist yet"; tags mean "only if it is at none of these versions". */
export function parseIfNoneMatch(header: string | undefined): Precondition | undefined {
  if (header === undefined) return undefined;
  return header.trim() === '*' ? { absent: true } : { notVersions: versionsOf(header) };
}
