/**
 * Opaque cursors: base64url JSON tagged with the list they belong to, so a cursor of one
 * list is refused by another instead of silently reading the wrong page. A use case that
 * cannot read a cursor throws `invalidCursor()` (platform/errors.ts).
 */
export function encodeCursor(list: string, position: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ l: list, p: position }), 'utf8').toString('base64url');
}

/** The position a cursor encodes, or undefined when it is not one of this list's cursors. */
export function decodeCursor(cursor: string, list: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { l?: unknown; p?: unknown };
    if (parsed.l !== list || typeof parsed.p !== 'object' || parsed.p === null) return undefined;
    return parsed.p as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
