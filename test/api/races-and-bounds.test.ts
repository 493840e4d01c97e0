/** Racing requests on one connection or reference, and the documented bounds of a body. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { buildConnection, createConnection, eventsOf, stripeSecret, tenant, uniqueRef } from './factories.js';

describeEach(serverTargets())('races and bounds on the $name', (target) => {
  describe('races', () => {
    it('when 5 upserts of one new reference race, then exactly one connection is created and the others update it', async () => {
      const { client } = await tenant(target);
      const reference = uniqueRef();
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, i) => client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'stripe', reference } }, body: { metadata: { [`k${i}`]: 'v' } } })),
      );
      const statuses = answers.map((a) => a.response.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 201]);
      expect(new Set(answers.map((a) => a.data!.id)).size).toBe(1);
      const { data } = await client.GET('/v1/connections', { params: { query: { q: reference } } });
      expect(data!.data).toHaveLength(1);
      expect(Object.keys(data!.data[0]!.metadata).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    });

    it('when 3 failed sync runs are reported at once, then they count one by one and the connection is in error', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      await Promise.all(
        Array.from({ length: 3 }, () => client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'failed', error: { message: 'x' } } })),
      );
      const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(data).toMatchObject({ status: 'error', consecutive_failures: 3, version: 4 });
    });

    it('when a PATCH and a DELETE race, then the connection ends archived with no credentials and both answered without a 500', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const [patch, del] = await Promise.all([
        client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { credentials: { secret_key: stripeSecret() } } }),
        client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } }),
      ]);
      expect([200, 409]).toContain(patch.response.status);
      // No If-Match was sent: the archive locks what it reads, so it never answers a made-up 412.
      expect(del.response.status).toBe(200);
      const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(data).toMatchObject({ status: 'archived', credentials_summary: {} });
    });
  });

  describe('upsert by reference', () => {
    it('when the reference is held by a connection of another provider, then a 409 points at /path/reference', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const { response, error } = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'razorpay', reference: c.reference! } }, body: {} });
      expect(response.status).toBe(409);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/path/reference']);
    });

    it('when an upsert creates with status disabled, then the new connection is disabled', async () => {
      const { client } = await tenant(target);
      const { response, data } = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'stripe', reference: uniqueRef() } }, body: { status: 'disabled', credentials: { secret_key: stripeSecret() } } });
      expect(response.status).toBe(201);
      expect(data!.status).toBe('disabled');
    });

    it('when an archived connection is deleted again, then it answers 200 and appends no event', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      const again = await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(again.response.status).toBe(200);
      expect((await eventsOf(client, c.id)).map((e) => e.action)).toEqual(['archived', 'created']);
    });
  });

  describe('bounds', () => {
    it('when name, metadata, tags and description break their bounds, then a 400 names each member', async () => {
      const { client } = await tenant(target);
      const { response, error } = await client.POST('/v1/connections', {
        body: buildConnection({
          name: 'n'.repeat(256),
          description: 'd'.repeat(2001),
          metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])),
          tags: ['Not A Tag'],
        }),
      });
      expect(response.status).toBe(400);
      const pointers = new Set(error!.errors!.map((e) => e.pointer));
      expect(pointers.has('/name')).toBe(true);
      expect(pointers.has('/description')).toBe(true);
      expect(pointers.has('/metadata')).toBe(true);
      expect([...pointers].some((p) => p.startsWith('/tags'))).toBe(true);
    });

    it('when a rejected write is retried with a fresh Idempotency-Key fixed, then it goes through (a failure does not keep the key)', async () => {
      const { client } = await tenant(target);
      const key = `idem-${randomUUID()}`;
      const bad = await client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': key } }, body: buildConnection({ settings: { account_id: 'bad id' } }) });
      expect(bad.response.status).toBe(400);
      const good = await client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': key } }, body: buildConnection() });
      expect(good.response.status).toBe(201);
    });

    it('when a write is rejected, then no event is appended and the version does not move', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const bad = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { settings: { account_id: 'bad id' } } });
      expect(bad.response.status).toBe(400);
      expect((await eventsOf(client, c.id)).map((e) => e.action)).toEqual(['created']);
      const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(data!.version).toBe(1);
    });
  });
});
