/**
 * Concurrency (issue 12): many writers at once on one connection, one reference, one
 * Idempotency-Key — no lost update, no duplicate, no 5xx, no made-up 412, one event per
 * change. Loads are a few dozen requests: sized for 2 cores shared with the rest of the suite.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { buildConnection, createConnection, eventsOf, stripeSecret, tenant, uniqueRef } from './factories.js';

const CAS_WRITERS = 4;
const CAS_INCREMENTS = 3;
const BLIND_WRITERS = 3;
const BLIND_WRITES = 3;

describeEach(serverTargets())('races under load on the $name', (target) => {
  it(`when ${CAS_WRITERS} writers increment a counter with If-Match (retrying each 412) while ${BLIND_WRITERS} write without it, then no update is lost, every 412 names a newer version, and each change is one event`, async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client, { priority: 0 });
    const path = { connectionId: c.id };
    const failures: string[] = [];
    let conflicts = 0;

    const casWriter = async () => {
      for (let done = 0; done < CAS_INCREMENTS; ) {
        const read = await client.GET('/v1/connections/{connectionId}', { params: { path } });
        const etag = read.response.headers.get('etag')!;
        const answer = await client.PATCH('/v1/connections/{connectionId}', { params: { path, header: { 'If-Match': etag } }, body: { priority: read.data!.priority + 1 } });
        if (answer.response.status === 200) done++;
        else if (answer.response.status === 412) {
          conflicts++;
          // Not made up: the row really moved past the version this writer read.
          const current = (answer.error as { current_version?: number }).current_version!;
          if (!(current > read.data!.version)) failures.push(`412 with current_version ${current} after reading ${read.data!.version}`);
        } else failures.push(`PATCH with If-Match: ${answer.response.status} ${JSON.stringify(answer.error)}`);
      }
    };
    const blindWriter = async (w: number) => {
      for (let i = 0; i < BLIND_WRITES; i++) {
        const answer = await client.PATCH('/v1/connections/{connectionId}', { params: { path }, body: { metadata: { [`w${w}_${i}`]: 'x' } } });
        if (answer.response.status !== 200) failures.push(`PATCH without If-Match: ${answer.response.status} ${JSON.stringify(answer.error)}`);
      }
    };
    await Promise.all([...Array.from({ length: CAS_WRITERS }, casWriter), ...Array.from({ length: BLIND_WRITERS }, (_, w) => blindWriter(w))]);
    expect(failures).toEqual([]);

    const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path } });
    expect(data!.priority).toBe(CAS_WRITERS * CAS_INCREMENTS);
    expect(Object.keys(data!.metadata)).toHaveLength(BLIND_WRITERS * BLIND_WRITES);
    expect(data!.version).toBe(1 + CAS_WRITERS * CAS_INCREMENTS + BLIND_WRITERS * BLIND_WRITES);
    const events = await eventsOf(client, c.id);
    expect(events).toHaveLength(data!.version);
    if (conflicts > 0) console.log(`races under load: ${conflicts} compare-and-set PATCHes lost a race and retried`);
  });

  it('when a DELETE without If-Match races 6 PATCHes, then it answers 200, never 412, each PATCH is a 200 before it or a 409 after it, and no change is lost', async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client);
    const path = { connectionId: c.id };
    const patches = Array.from({ length: 6 }, (_, i) => client.PATCH('/v1/connections/{connectionId}', { params: { path }, body: { metadata: { [`k${i}`]: 'v' } } }));
    const archive = client.DELETE('/v1/connections/{connectionId}', { params: { path } });
    const [deleted, ...patched] = await Promise.all([archive, ...patches]);
    expect(deleted.response.status, JSON.stringify(deleted.error)).toBe(200);
    for (const p of patched) {
      expect([200, 409], JSON.stringify(p.error)).toContain(p.response.status);
      if (p.response.status === 409) expect(p.error).toMatchObject({ code: 'conflict' });
      // A PATCH acknowledged before the archive is in it: the archive read it, locked.
      else expect(p.data!.version).toBeLessThan(deleted.data!.version);
    }
    const accepted = patched.filter((p) => p.response.status === 200).length;
    expect(deleted.data!.version).toBe(2 + accepted);
    expect(Object.keys(deleted.data!.metadata)).toHaveLength(accepted);
    const events = await eventsOf(client, c.id);
    expect(events).toHaveLength(deleted.data!.version);
    expect(events[0]).toMatchObject({ action: 'archived' });
  });

  it('when a DELETE with a fresh If-Match races a PATCH, then each is a 200 or a 412 that names the version the other wrote', async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client);
    const path = { connectionId: c.id };
    const [deleted, patched] = await Promise.all([
      client.DELETE('/v1/connections/{connectionId}', { params: { path, header: { 'If-Match': '"1"' } } }),
      client.PATCH('/v1/connections/{connectionId}', { params: { path, header: { 'If-Match': '"1"' } }, body: { name: 'raced' } }),
    ]);
    // Exactly one of them wins version 1; the other sees version 2 (or, for the PATCH, the archive).
    const statuses = [deleted.response.status, patched.response.status].sort();
    expect(statuses[0]).toBe(200);
    expect([409, 412]).toContain(statuses[1]);
    const loser = deleted.response.status === 200 ? patched : deleted;
    if (loser.response.status === 412) expect(loser.error).toMatchObject({ code: 'version_mismatch', current_version: 2 });
    expect((await eventsOf(client, c.id)).length).toBe(2);
  });

  it('when 6 upserts of one new reference asking for disabled race, then one connection is created disabled, the others update it, and each change is one event', async () => {
    const { client } = await tenant(target);
    const reference = uniqueRef();
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.PUT('/v1/providers/{slug}/connections/{reference}', {
          params: { path: { slug: 'stripe', reference } },
          body: { status: 'disabled', metadata: { [`k${i}`]: 'v' }, credentials: { secret_key: stripeSecret() } },
        }),
      ),
    );
    expect(answers.map((a) => a.response.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const created = answers.find((a) => a.response.status === 201)!.data!;
    // Created disabled in one transaction: version 1, one 'created' event, never 'active' in between.
    expect(created).toMatchObject({ status: 'disabled', version: 1 });
    expect(new Set(answers.map((a) => a.data!.id))).toEqual(new Set([created.id]));
    const { data } = await client.GET('/v1/connections', { params: { query: { q: reference, status: ['disabled'] } } });
    expect(data!.data).toHaveLength(1);
    expect(Object.keys(data!.data[0]!.metadata)).toHaveLength(6);
    const events = await eventsOf(client, created.id);
    expect(events).toHaveLength(data!.data[0]!.version);
    expect(events.at(-1)).toMatchObject({ action: 'created', status_to: 'disabled' });
  });

  it('when 8 POSTs with one Idempotency-Key race, then exactly one connection is created and each answer is its 201 or a 409; the next retry replays it', async () => {
    const { client } = await tenant(target);
    const body = buildConnection();
    const params = { header: { 'Idempotency-Key': `race-${randomUUID()}` } };
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.POST('/v1/connections', { params, body })));
    for (const a of answers) expect([201, 409], JSON.stringify(a.error)).toContain(a.response.status);
    const ids = new Set(answers.filter((a) => a.response.status === 201).map((a) => a.data!.id));
    expect(ids.size).toBe(1);
    const again = await client.POST('/v1/connections', { params, body });
    expect(again.response.status).toBe(201);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(ids.has(again.data!.id)).toBe(true);
    const { data } = await client.GET('/v1/connections', { params: { query: { q: body.reference! } } });
    expect(data!.data).toHaveLength(1);
  });

  it('when 6 sync-run reports with one Idempotency-Key race, then exactly one run is recorded', async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client);
    const params = { path: { connectionId: c.id }, header: { 'Idempotency-Key': `run-${randomUUID()}` } };
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.POST('/v1/connections/{connectionId}/sync-runs', { params, body: { outcome: 'failed', error: { message: 'x' } } })));
    for (const a of answers) expect([201, 409], JSON.stringify(a.error)).toContain(a.response.status);
    expect(new Set(answers.filter((a) => a.response.status === 201).map((a) => a.data!.id)).size).toBe(1);
    const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
    expect(data).toMatchObject({ consecutive_failures: 1, version: 2 });
  });

  it('when a connection created with an Idempotency-Key is archived, then its stored reply is gone: the same request runs afresh', async () => {
    const { client } = await tenant(target);
    const body = buildConnection();
    const params = { header: { 'Idempotency-Key': `archived-${randomUUID()}` } };
    const first = await client.POST('/v1/connections', { params, body });
    expect(first.response.status).toBe(201);
    const replay = await client.POST('/v1/connections', { params, body });
    expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
    expect((await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: first.data!.id } } })).response.status).toBe(200);
    const after = await client.POST('/v1/connections', { params, body });
    expect(after.response.status).toBe(201);
    expect(after.response.headers.get('idempotent-replayed')).toBeNull();
    expect(after.data!.id).not.toBe(first.data!.id);
  });
});
