/**
 * Cursor pagination as the spec defines it for every list: a page is `{ data, next_cursor }`,
 * and `next_cursor` goes back as `cursor` (with the same filters) until it is null.
 */

/** One page of a list operation. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  total_count?: number;
  /** With total_count: true when more items match than the server counts (total_count is then a lower bound). */
  total_count_capped?: boolean;
}

/**
 * A list that reads its pages lazily: `for await (const item of list)` walks every item of
 * every page, `for await (const page of list.pages())` one page at a time. Nothing is
 * requested until it is iterated, and each iteration starts again from the first page.
 */
export class Paginator<T> implements AsyncIterable<T> {
  /** The pages of a list operation: the same query each time, with the previous page's cursor. */
  static over<T, Q extends object>(listPage: (query: Q & { cursor?: string }) => Promise<Page<T>>, query: Q): Paginator<T> {
    return new Paginator((cursor) => listPage(cursor === undefined ? query : { ...query, cursor }));
  }


  constructor(private readonly fetchPage: (cursor: string | undefined) => Promise<Page<T>>) {}

  /** Every page, in order, starting with the first. */
  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    let cursor: string | undefined;
    do {
      const page = await this.fetchPage(cursor);
      yield page;
      // A server that handed back the cursor it was given would loop forever: stop instead.
      if (page.next_cursor !== null && page.next_cursor === cursor) throw new Error(`the server returned the same cursor twice (${cursor})`);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item in one array; `max` stops early (and reads no further page). */
  async toArray(options: { max?: number } = {}): Promise<T[]> {
    const max = options.max ?? Number.POSITIVE_INFINITY;
    const items: T[] = [];
    if (max <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= max) break;
    }
    return items;
  }
}
