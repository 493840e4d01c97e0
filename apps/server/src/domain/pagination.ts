import { HttpProblem } from '@patchbay/openapi-http';

/**
 * Opaque cursors: base64url JSON tagged with the list they belong to, so a cursor of one
 * list is refused by another instead of silently reading the wrong page.
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

/** The one answer to a cursor that is not one of this list's: a 400 pointing at it. */
export function invalidCursor(detail = 'The cursor does not belong to this list.'): HttpProblem {
  return new HttpProblem('validation_failed', detail, [{ pointer: '/query/cursor', message: 'is not a valid cursor for this query' }]);
}
