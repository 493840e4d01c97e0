/** GET /v1/connections: cursor pagination under every sort, filters, total count, archived rows. */
import { describe, expect, it } from 'vitest';
import type { PatchbayClient, QueryParams } from '@patchbay/client';
import { walkPages, withCursor } from '../support/pagination.js';
import { describeEach, serverTargets } from '../support/targets.js';
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
      const without = await client.GET('/v1/connections', { params: { query: { limit: 1 } } });
      expect(without.data!.total_count).toBeUndefined();
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
