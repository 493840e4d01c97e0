/** GET /v1/connections: cursor pagination under every sort, filters, total count (capped), archived
 * rows, and the trigram indexes the text search q= uses. */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PatchbayClient, QueryParams } from '@patchbay/client';
import { MASTER_KEY } from '../support/global-setup.js';
import { walkPages, withCursor } from '../support/pagination.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { describeEach, makeTarget, serverTargets, type Target } from '../support/targets.js';
import { createConnection, tenant, uniqueRef, type Connection } from './factories.js';

type ListQuery = QueryParams<'listConnections'>;

/** Every page of a list, following next_cursor (support/pagination.ts). */
async function walk(client: PatchbayClient, query: ListQuery): Promise<Connection[]> {
  const { items } = await walkPages((cursor) => client.GET('/v1/connections', { params: { query: { ...query, ...withCursor(cursor) } } }), { ...(query.limit ? { limit: query.limit } : {}) });
  return items;
}

const SORTS = ['created_at', '-created_at', 'name', '-name', 'priority', '-priority', 'updated_at', '-updated_at'] as const;

describeEach(serverTargets())('GET /v1/connections on the $name', (target) => {
  it('rejects a caller without a key', async () => {
    const { response } = await target.client({ apiKey: undefined }).GET('/v1/connections', {});
    expect(response.status).toBe(401);
  });

  describe('pagination', () => {
    it.each(SORTS)('when walking pages of 2 sorted by %s, then every connection is seen exactly once, in order', async (sort) => {
      const { client } = await tenant(target);
      // Duplicate names and priorities, so that the order must be stable on ties.
      const names = ['b', 'a', 'c', 'a', 'b', 'd', 'a'];
      const created: Connection[] = [];
      for (const [i, name] of names.entries()) created.push(await createConnection(client, { name, priority: i % 3 }));
      // Touch one so updated_at differs from created_at order.
      await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created[0]!.id } }, body: { description: 'touched' } });
      const all = await walk(client, { sort, limit: 2 });
      expect(all.map((c) => c.id).sort()).toEqual(created.map((c) => c.id).sort());
      expect(new Set(all.map((c) => c.id)).size).toBe(created.length);
      const column = sort.replace('-', '') as 'created_at' | 'name' | 'priority' | 'updated_at';
      const values = all.map((c) => c[column]);
      const sorted = [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      expect(values).toEqual(sort.startsWith('-') ? sorted.reverse() : sorted);
    });

    it('when a cursor is reused with other filters, then a 400 points at /query/cursor', async () => {
      const { client } = await tenant(target);
      for (let i = 0; i < 3; i++) await createConnection(client);
      const first = await client.GET('/v1/connections', { params: { query: { limit: 1 } } });
      expect(first.data!.next_cursor).toBeTruthy();
      const { response, error } = await client.GET('/v1/connections', { params: { query: { limit: 1, cursor: first.data!.next_cursor!, environment: 'test' } } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/query/cursor']);
    });

    it('when include_total is asked, then total_count counts every match, not only the page', async () => {
      const { client } = await tenant(target);
      for (let i = 0; i < 3; i++) await createConnection(client);
      const { data } = await client.GET('/v1/connections', { params: { query: { limit: 1, include_total: true } } });
      expect(data!.data).toHaveLength(1);
      expect(data!.total_count).toBe(3);
      expect(data!.total_count_capped).toBe(false);
      const without = await client.GET('/v1/connections', { params: { query: { limit: 1 } } });
      expect(without.data!.total_count).toBeUndefined();
      expect(without.data!.total_count_capped).toBeUndefined();
    });

    it('when limit is out of 1..200, then a 400 points at /query/limit', async () => {
      const { client } = await tenant(target);
      const { response, error } = await client.GET('/v1/connections', { params: { query: { limit: 201 } } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/query/limit']);
    });
  });

  describe('filters', () => {
    it('when filtering by provider, status, environment and enabled, then only matching connections are listed', async () => {
      const { client } = await tenant(target);
      const stripeProd = await createConnection(client);
      const stripeTest = await createConnection(client, { environment: 'test' });
      const pending = await createConnection(client, { credentials: {} });
      const off = await createConnection(client, { enabled: false });
      const razor = await createConnection(client, { provider: 'razorpay', credentials: { key_id: 'rzp_test_abcdefgh12', secret_key: 'razor-secret-1234567' } });
      const ids = async (query: ListQuery) => (await walk(client, query)).map((c) => c.id).sort();
      expect(await ids({ provider: 'razorpay' })).toEqual([razor.id]);
      expect(await ids({ status: ['pending_auth'] })).toEqual([pending.id]);
      expect(await ids({ environment: 'test' })).toEqual([stripeTest.id]);
      expect(await ids({ enabled: false })).toEqual([off.id]);
      expect(await ids({ provider: 'stripe', environment: 'production', enabled: true, status: ['active'] })).toEqual([stripeProd.id]);
    });

    it('when filtering by several tags, then only connections with all of them are listed', async () => {
      const { client } = await tenant(target);
      const both = await createConnection(client, { tags: ['eu', 'primary', 'x'] });
      await createConnection(client, { tags: ['eu'] });
      await createConnection(client, { tags: ['primary'] });
      const { data } = await client.GET('/v1/connections', { params: { query: { tag: ['eu', 'primary'] } } });
      expect(data!.data.map((c) => c.id)).toEqual([both.id]);
    });

    it('when searching with q, then name and reference match case-insensitively', async () => {
      const { client } = await tenant(target);
      const byName = await createConnection(client, { name: 'Acme MegaStore Payments' });
      const byRef = await createConnection(client, { reference: `MEGASTORE-${uniqueRef()}` });
      await createConnection(client, { name: 'Other' });
      const { data } = await client.GET('/v1/connections', { params: { query: { q: 'megastore' } } });
      expect(data!.data.map((c) => c.id).sort()).toEqual([byName.id, byRef.id].sort());
    });

    it('when q contains % or _, then each matches itself only, not any characters', async () => {
      const { client } = await tenant(target);
      const percent = await createConnection(client, { name: '100% sure' });
      await createConnection(client, { name: '100 percent' });
      const underscore = await createConnection(client, { name: 'eu_store' });
      await createConnection(client, { name: 'eu-store' });
      const byPercent = await client.GET('/v1/connections', { params: { query: { q: '100%' } } });
      expect(byPercent.response.status).toBe(200);
      expect(byPercent.data!.data.map((c) => c.id)).toEqual([percent.id]);
      const byUnderscore = await client.GET('/v1/connections', { params: { query: { q: 'eu_store' } } });
      expect(byUnderscore.response.status).toBe(200);
      expect(byUnderscore.data!.data.map((c) => c.id)).toEqual([underscore.id]);
    });

    it('when a connection is archived, then it is listed only with status=archived', async () => {
      const { client } = await tenant(target);
      const kept = await createConnection(client);
      const gone = await createConnection(client);
      await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: gone.id } } });
      expect((await walk(client, {})).map((c) => c.id)).toEqual([kept.id]);
      expect((await walk(client, { status: ['archived'] })).map((c) => c.id)).toEqual([gone.id]);
    });
  });
});

// A server of each store whose count stops at 3 (PATCHBAY_TOTAL_COUNT_CAP): the default, 1,000,
// would need a thousand connections made through the API to reach.
const CAP = 3;
const postgresUrl = inject('postgresDatabaseUrl');
const cappedStores: { name: string; choice: () => Parameters<typeof startServer>[0]; unavailable?: string }[] = [
  { name: 'PGlite', choice: () => ({ store: 'pglite' }) },
  {
    name: 'PostgreSQL',
    choice: () => ({ store: 'postgres', databaseUrl: postgresUrl! }),
    ...(postgresUrl ? {} : { unavailable: inject('postgresUnavailable') ?? 'no PostgreSQL server was started' }),
  },
];

for (const store of cappedStores) {
  const title = `include_total with PATCHBAY_TOTAL_COUNT_CAP=${CAP} on a server on ${store.name}`;
  (store.unavailable ? describe.skip : describe)(store.unavailable ? `${title} (SKIPPED: ${store.unavailable})` : title, () => {
    let server: RunningServer | undefined;
    let target: Target;

    beforeAll(async () => {
      // On PostgreSQL it shares the suite's database, so it takes the shared servers' master key.
      server = await startServer(store.choice(), { PATCHBAY_ADMIN_KEY: inject('adminKey'), PATCHBAY_MASTER_KEY: MASTER_KEY, PATCHBAY_TOTAL_COUNT_CAP: String(CAP) });
      target = makeTarget(`capped server on ${store.name}`, 'server', server.url);
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
    });

    it('when more connections match than the cap, then total_count is the cap and total_count_capped is true; at or under it the count is exact', async () => {
      const { client } = await tenant(target);
      const made: Connection[] = [];
      for (let i = 0; i < CAP + 2; i++) made.push(await createConnection(client, { name: i < 2 ? `Needle ${i}` : `Hay ${i}` }));
      const over = await client.GET('/v1/connections', { params: { query: { limit: 2, include_total: true } } });
      expect(over.response.status).toBe(200);
      expect(over.data!.data).toHaveLength(2);
      expect(over.data!.total_count).toBe(CAP);
      expect(over.data!.total_count_capped).toBe(true);
      // Filters count before the cap: two match, exactly.
      const few = await client.GET('/v1/connections', { params: { query: { q: 'needle', include_total: true } } });
      expect(few.data!.total_count).toBe(2);
      expect(few.data!.total_count_capped).toBe(false);
      // Exactly the cap is not more than the cap.
      await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: made[0]!.id } } });
      await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: made[1]!.id } } });
      const at = await client.GET('/v1/connections', { params: { query: { include_total: true } } });
      expect(at.data!.data).toHaveLength(CAP);
      expect(at.data!.total_count).toBe(CAP);
      expect(at.data!.total_count_capped).toBe(false);
    });
  });
}

// The text search is `name ILIKE '%term%' OR reference ILIKE '%term%'` (connections/repository.ts):
// migration 10's trigram indexes must be able to answer it, or a search reads the tenant's every row.
(postgresUrl ? describe : describe.skip)(postgresUrl ? 'the text search on PostgreSQL' : `the text search on PostgreSQL (SKIPPED: ${inject('postgresUnavailable')})`, () => {
  it("when the table may not be read whole, then q='s ILIKE on name or reference is answered by the two trigram indexes", async () => {
    const client = new pg.Client({ connectionString: postgresUrl! });
    await client.connect();
    try {
      await client.query('BEGIN');
      // Forbid reading the table, so that the plan shows whether an index can serve the search
      // at all (on the suite's small table the planner would rightly prefer reading it); no
      // btree can, so without the trigram indexes this is a sequential scan all the same.
      await client.query('SET LOCAL enable_seqscan = off');
      const plan = (await client.query(`EXPLAIN SELECT id FROM connections WHERE name ILIKE $1 OR reference ILIKE $1`, ['%megastore%'])).rows
        .map((r: Record<string, string>) => r['QUERY PLAN'])
        .join('\n');
      expect(plan).toContain('connections_name_trgm');
      expect(plan).toContain('connections_reference_trgm');
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });
});
