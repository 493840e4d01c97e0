/** Pagination: `for await` walks every page by next_cursor, with the same filters and sort on
 * every page; `.pages()` and `listPage` read one page at a time. */
import { describe, expect, it } from 'vitest';
import type { Connection } from '@patchbay/client';
import { describeEach, serverTargets } from '../support/targets.js';
import { exactly, proxiedTenant, stripeConnection } from './helpers.js';

const listRequests = exactly('GET', '/v1/connections');
const queryOf = (path: string) => new URL(path, 'http://x').searchParams;

describeEach(serverTargets())('client pagination on the $name', (target) => {
  async function withConnections(n: number) {
    const context = await proxiedTenant(target);
    const created: Connection[] = [];
    // Names sort the same way as the order of creation: c0 < c1 < ...
    for (let i = 0; i < n; i++) created.push(await context.direct.connections.create(stripeConnection({ name: `c${i}` })));
    context.proxy.plan([], listRequests);
    return { ...context, created };
  }

  it('when 5 connections are listed 2 a page, then for await yields all 5 in order from 3 requests, each passing the previous next_cursor', async () => {
    const { client, proxy, created } = await withConnections(5);

    const names: string[] = [];
    for await (const connection of client.connections.list({ sort: 'name', limit: 2 })) names.push(connection.name);

    expect(names).toEqual(created.map((c) => c.name));
    const requests = proxy.matching();
    expect(requests).toHaveLength(3);
    expect(requests.map((r) => queryOf(r.path).get('cursor'))).toEqual([null, JSON.parse(requests[0]!.upstream!.body).next_cursor, JSON.parse(requests[1]!.upstream!.body).next_cursor]);
    for (const r of requests) expect(Object.fromEntries(queryOf(r.path))).toMatchObject({ sort: 'name', limit: '2' });
  });

  it('when read with .pages(), then the pages are 2, 2 and 1 long and the last one has no next_cursor', async () => {
    const { client } = await withConnections(5);

    const pages = [];
    for await (const page of client.connections.list({ limit: 2 }).pages()) pages.push(page);

    expect(pages.map((p) => p.data.length)).toEqual([2, 2, 1]);
    expect(pages.map((p) => p.next_cursor === null)).toEqual([false, false, true]);
    // The default sort is newest first.
    expect(new Set(pages.flatMap((p) => p.data.map((c) => c.id))).size).toBe(5);
  });

  it('when read one page at a time with listPage, then the cursor and include_total are passed through', async () => {
    const { client, created } = await withConnections(3);

    const first = await client.connections.listPage({ sort: '-name', limit: 2, include_total: true });
    const second = await client.connections.listPage({ sort: '-name', limit: 2, cursor: first.next_cursor! });

    expect(first.total_count).toBe(3);
    expect([...first.data, ...second.data].map((c) => c.name)).toEqual(created.map((c) => c.name).reverse());
    expect(second.next_cursor).toBeNull();
  });

  it('when filtered, then every page keeps the filter, and toArray({ max }) stops reading once it has enough', async () => {
    const { client, direct, proxy } = await withConnections(0);
    for (let i = 0; i < 3; i++) await direct.connections.create(stripeConnection());
    for (let i = 0; i < 2; i++) await direct.connections.create({ provider: 'hubspot', credentials: { access_token: `hs_${crypto.randomUUID()}` } });
    proxy.plan([], listRequests);

    const stripe = await client.connections.list({ provider: 'stripe', limit: 1 }).toArray();
    expect(stripe.map((c) => c.provider)).toEqual(['stripe', 'stripe', 'stripe']);
    expect(proxy.matching().length).toBeGreaterThanOrEqual(3);
    for (const r of proxy.matching()) expect(queryOf(r.path).get('provider')).toBe('stripe');

    proxy.plan([], listRequests);
    const three = await client.connections.list({ limit: 2 }).toArray({ max: 3 });
    expect(three).toHaveLength(3);
    expect(proxy.matching()).toHaveLength(2);
  });

  it('when a connection\'s events span several pages, then events.list walks them all, newest first', async () => {
    const { client, direct, created } = await withConnections(1);
    const id = created[0]!.id;
    for (let i = 0; i < 4; i++) await direct.connections.update(id, { priority: i + 1 });

    const walked = await client.connections.events.list(id, { limit: 2 }).toArray();
    const onePage = await direct.connections.events.listPage(id, { limit: 200 });

    expect(walked.length).toBe(5);
    expect(walked.map((e) => e.id)).toEqual(onePage.data.map((e) => e.id));
  });

  it('when the provider catalog is walked 2 a page, then it is the same catalog as one large page', async () => {
    const { client, direct } = await withConnections(0);

    const walked = await client.providers.list({ limit: 2 }).toArray();
    const whole = await direct.providers.listPage({ limit: 200 });

    expect(whole.next_cursor).toBeNull();
    expect(walked.map((p) => p.slug)).toEqual(whole.data.map((p) => p.slug));
    expect(walked.length).toBeGreaterThan(2);
  });
});
