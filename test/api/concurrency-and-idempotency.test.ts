/** Versions and ETags, If-Match, racing writers, and Idempotency-Key on POST. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { buildConnection, createConnection, tenant } from './factories.js';

describeEach(serverTargets())('concurrency and idempotency on the $name', (target) => {
  describe('ETag and If-Match', () => {
    it('when a connection is created, read and patched, then the ETag is always the quoted version', async () => {
      const { client } = await tenant(target);
      const created = await client.POST('/v1/connections', { body: buildConnection() });
      expect(created.response.headers.get('etag')).toBe('"1"');
      expect(created.response.headers.get('location')).toBe(`/v1/connections/${created.data!.id}`);
      const patched = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } }, body: { priority: 2 } });
      expect(patched.data!.version).toBe(2);
      expect(patched.response.headers.get('etag')).toBe('"2"');
      const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } } });
      expect(got.response.headers.get('etag')).toBe(`"${got.data!.version}"`);
    });

    it('when If-Match is stale on PATCH, PUT, DELETE and credentials, then each is a 412 version_mismatch and nothing changes', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { priority: 1 } });
      const stale = { header: { 'If-Match': '"1"' }, path: { connectionId: c.id } };
      const answers = [
        await client.PATCH('/v1/connections/{connectionId}', { params: stale, body: { name: 'lost' } }),
        await client.PUT('/v1/connections/{connectionId}', { params: stale, body: { name: 'lost', environment: 'production', enabled: true } }),
        await client.DELETE('/v1/connections/{connectionId}', { params: stale }),
        await client.PUT('/v1/connections/{connectionId}/credentials', { params: stale, body: { credentials: { secret_key: 'sk_test_abcdefghijkl' } } }),
      ];
      for (const a of answers) {
        expect(a.response.status).toBe(412);
        expect(a.error).toMatchObject({ code: 'version_mismatch', current_version: 2 });
      }
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(after.data).toMatchObject({ version: 2, name: c.name, status: 'active' });
      expect(after.data!.credentials_summary).toEqual(c.credentials_summary);
    });

    it('when If-Match matches, then the write goes through', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const { response, data } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id }, header: { 'If-Match': '"1"' } }, body: { name: 'kept' } });
      expect(response.status).toBe(200);
      expect(data!.name).toBe('kept');
    });

    it('when 10 PATCHes without If-Match race, each setting its own metadata key, then all 10 keys survive and the version is 11', async () => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { metadata: { [`k${i}`]: `v${i}` } } })),
      );
      expect(answers.map((a) => a.response.status)).toEqual(Array(10).fill(200));
      const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(data!.metadata).toEqual(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, `v${i}`])));
      expect(data!.version).toBe(11);
    });
  });

  describe('Idempotency-Key on POST /v1/connections', () => {
    it('when the same key is sent with the same body, then the first response is replayed', async () => {
      const { client } = await tenant(target);
      const body = buildConnection();
      const params = { header: { 'Idempotency-Key': `idem-${randomUUID()}` } };
      const first = await client.POST('/v1/connections', { params, body });
      const second = await client.POST('/v1/connections', { params, body });
      expect(first.response.status).toBe(201);
      expect(second.response.status).toBe(201);
      expect(second.data!.id).toBe(first.data!.id);
      expect(second.response.headers.get('idempotent-replayed')).toBe('true');
      expect(first.response.headers.get('idempotent-replayed')).toBeNull();
      const list = await client.GET('/v1/connections', {});
      expect(list.data!.data).toHaveLength(1);
    });

    it('when the same key is sent with a different body, then a 422', async () => {
      const { client } = await tenant(target);
      const params = { header: { 'Idempotency-Key': `idem-${randomUUID()}` } };
      await client.POST('/v1/connections', { params, body: buildConnection() });
      const { response, error } = await client.POST('/v1/connections', { params, body: buildConnection() });
      expect(response.status).toBe(422);
      expect(error).toMatchObject({ code: 'idempotency_key_reused' });
    });

    it('when the same key is sent 5 times at once, then exactly one connection is created, and every answer is that 201 (first or replayed) or a 409 with Retry-After', async () => {
      const { client } = await tenant(target);
      const body = buildConnection();
      const params = { header: { 'Idempotency-Key': `idem-${randomUUID()}` } };
      const answers = await Promise.all(Array.from({ length: 5 }, () => client.POST('/v1/connections', { params, body })));
      const statuses = answers.map((a) => a.response.status);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      const ids = new Set(answers.filter((a) => a.response.status === 201).map((a) => a.data!.id));
      expect(ids.size).toBe(1);
      // Which of them meet the first one in flight depends on timing; the 409 itself is made
      // certain by the test below.
      for (const a of answers.filter((x) => x.response.status === 409)) expect(a.response.headers.get('retry-after')).toBe('1');
      const list = await client.GET('/v1/connections', {});
      expect(list.data!.data).toHaveLength(1);
    });

    it('when the same key is used by another tenant, then it is a separate request', async () => {
      const a = await tenant(target);
      const b = await tenant(target);
      const key = `idem-${randomUUID()}`;
      const body = buildConnection();
      const first = await a.client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': key } }, body });
      const second = await b.client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': key } }, body });
      expect(second.response.status).toBe(201);
      expect(second.data!.id).not.toBe(first.data!.id);
    });
  });
});

const pgTarget = serverTargets().find((t) => t.name === 'server on PostgreSQL')!;

// PostgreSQL only: the test holds the first request inside its work by locking the table its
// create writes, from a connection of its own. (The server claims the key only once the body
// has been read, so a half-sent body would not hold it; PGlite's database is inside the server
// process and cannot be locked from outside: see the issue 10 report.)
(pgTarget.unavailable ? describe.skip : describe)(`Idempotency-Key in flight on the server on PostgreSQL${pgTarget.unavailable ? ` (SKIPPED: ${pgTarget.unavailable})` : ''}`, () => {
  it('when a request with a key is still being processed, then the same request gets a 409 conflict with Retry-After: 1, and once the first is done, its 201 is replayed', async () => {
    const { client } = await tenant(pgTarget);
    const body = buildConnection();
    const key = `idem-in-flight-${randomUUID()}`;
    const params = { header: { 'Idempotency-Key': key } };
    const locker = new pg.Client({ connectionString: inject('postgresDatabaseUrl')! });
    await locker.connect();
    let locked = false;
    try {
      await locker.query('BEGIN');
      // Blocks every INSERT into connections (ROW EXCLUSIVE), not the claim in idempotency_keys.
      await locker.query('LOCK TABLE connections IN SHARE ROW EXCLUSIVE MODE');
      locked = true;
      const first = client.POST('/v1/connections', { params, body });
      // The first request has claimed the key and is now waiting on the lock.
      await expect
        .poll(async () => (await locker.query<{ state: string }>('SELECT state FROM idempotency_keys WHERE key = $1', [key])).rows[0]?.state, { timeout: 30_000, interval: 20 })
        .toBe('in_flight');
      const second = await client.POST('/v1/connections', { params, body });
      expect(second.response.status).toBe(409);
      expect(second.error).toMatchObject({ code: 'conflict' });
      expect(second.response.headers.get('retry-after')).toBe('1');

      await locker.query('ROLLBACK');
      locked = false;
      const created = await first;
      expect(created.response.status, JSON.stringify(created.error)).toBe(201);
      const third = await client.POST('/v1/connections', { params, body });
      expect(third.response.status).toBe(201);
      expect(third.response.headers.get('idempotent-replayed')).toBe('true');
      expect(third.data!.id).toBe(created.data!.id);
    } finally {
      if (locked) await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  });
});
