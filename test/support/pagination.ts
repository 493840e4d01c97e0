/** The one walk over a cursor-paginated list for the suites: it follows next_cursor, checks
 * that every page is a 200 no longer than the limit asked for, and gives up after `maxPages`
 * (a list that never ends is a failure, not a hung test). */
import { expect } from 'vitest';

export interface Page<T> {
  response: Response;
  data?: { data: T[]; next_cursor?: string | null };
  error?: unknown;
}

export interface WalkOptions {
  /** The `limit` the pages were asked with: no page may be longer. */
  limit?: number;
  /** Fail when there are still more pages after this many (default 50). */
  maxPages?: number;
  /** Stop early, once this returns true for what has been seen so far. */
  until?: (seen: unknown[]) => boolean;
  /** Start from this cursor instead of the first page. */
  from?: string;
}

/** Every item of every page, and each page's items, following next_cursor from the first page. */
export async function walkPages<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>, options: WalkOptions = {}): Promise<{ items: T[]; pages: T[][]; next: string | undefined }> {
  const maxPages = options.maxPages ?? 50;
  const items: T[] = [];
  const pages: T[][] = [];
  let cursor: string | undefined = options.from;
  for (let page = 1; page <= maxPages; page++) {
    const { response, data, error } = await fetchPage(cursor);
    expect(response.status, `page ${page}: ${JSON.stringify(error)}`).toBe(200);
    if (options.limit !== undefined) expect(data!.data.length, `page ${page} is longer than limit=${options.limit}`).toBeLessThanOrEqual(options.limit);
    pages.push(data!.data);
    items.push(...data!.data);
    if (!data!.next_cursor || options.until?.(items)) return { items, pages, next: data!.next_cursor ?? undefined };
    cursor = data!.next_cursor;
  }
  throw new Error(`the list still had more after ${maxPages} pages`);
}

/** `{ cursor }` when there is one, for spreading into a query. */
export const withCursor = (cursor: string | undefined): { cursor?: string } => (cursor ? { cursor } : {});
