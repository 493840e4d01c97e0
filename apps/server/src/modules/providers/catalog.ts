/**
 * The provider catalog: read-only, built from specs/providers/*.yaml and validated against
 * the spec's `Provider` schema by the specs build. Loaded once; lookups are map reads.
 */
import type { ConnectionsSchema } from '@patchbay/api-types';
import { loadProviderCatalog } from '@patchbay/api-types/documents';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { invalidCursor } from '../../platform/errors.js';

export type Provider = ConnectionsSchema<'Provider'>;
export type ProviderCategory = Provider['category'];
export type ProviderAuthType = Provider['auth_type'];

export interface ProviderFilter {
  category?: ProviderCategory;
  auth_type?: ProviderAuthType;
  limit: number;
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export class ProviderCatalog {
  private readonly bySlug: ReadonlyMap<string, Provider>;
  private readonly sorted: readonly Provider[];

  constructor(providers: readonly Provider[] = loadProviderCatalog() as Provider[]) {
    this.sorted = [...providers].sort((a, b) => a.slug.localeCompare(b.slug));
    this.bySlug = new Map(this.sorted.map((p) => [p.slug, p]));
  }

  get(slug: string): Provider | undefined {
    return this.bySlug.get(slug);
  }

  all(): readonly Provider[] {
    return this.sorted;
  }

  get size(): number {
    return this.sorted.length;
  }

  /** A cursor is bound to the filters it was made for. */
  private listName(filter: ProviderFilter): string {
    return `providers:${filter.category ?? ''}:${filter.auth_type ?? ''}`;
  }

  /** Providers ordered by slug; the cursor is the last slug of the previous page. */
  list(filter: ProviderFilter): Page<Provider> {
    let after: string | undefined;
    if (filter.cursor !== undefined) {
      const decoded = decodeCursor(filter.cursor, this.listName(filter));
      if (decoded === undefined || typeof decoded.after !== 'string') throw invalidCursor('The cursor is not one this list returned.');
      after = decoded.after;
    }
    const matching = this.sorted.filter(
      (p) =>
        (after === undefined || p.slug > after) &&
        (filter.category === undefined || p.category === filter.category) &&
        (filter.auth_type === undefined || p.auth_type === filter.auth_type),
    );
    const data = matching.slice(0, filter.limit);
    const last = data.at(-1);
    return { data, next_cursor: matching.length > filter.limit && last ? encodeCursor(this.listName(filter), { after: last.slug }) : null };
  }
}
