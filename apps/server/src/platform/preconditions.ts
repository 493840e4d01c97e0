/**
 * What a conditional write asks of the resource it changes (RFC 9110 13.1), with no HTTP in
 * it: the edge parses If-Match / If-None-Match into one of these, a use case checks it
 * against what it read inside its transaction.
 */
export type Precondition =
  /** If-Match: * — the resource exists. */
  | { exists: true }
  /** If-Match: tags — the resource is at one of these versions. */
  | { versions: readonly number[] }
  /** If-None-Match: * — the resource does not exist yet. */
  | { absent: true }
  /** If-None-Match: tags — the resource is at none of these versions. */
  | { notVersions: readonly number[] };

/** True when a resource at `version` (undefined: it does not exist) satisfies every precondition. */
export function satisfies(preconditions: readonly (Precondition | undefined)[], version: number | undefined): boolean {
  return preconditions.every((p) => {
    if (p === undefined) return true;
    if ('exists' in p) return version !== undefined;
    if ('versions' in p) return version !== undefined && p.versions.includes(version);
    if ('absent' in p) return version === undefined;
    return version === undefined || !p.notVersions.includes(version);
  });
}
