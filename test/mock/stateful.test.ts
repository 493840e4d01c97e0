/** The stateful mock (issue 16): it remembers what it is sent, per API key, starting from the
 * spec's examples, and follows the server's rules that need no database. The scripted session
 * (session.ts) runs on the real server and on the mock, side by side, and must show a
 * frontend the same statuses, shapes, problems and events on both. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/http.js';
import { startMock, type RunningProcess } from '../support/processes.js';
import { newTenantKey, serverTargets } from '../support/targets.js';
import { specViolations } from '../support/spec-schema.js';
import { violationsOf } from './session-check.js';
import { runSession, type Send, type Transcript } from './session.js';

type Json = Record<string, unknown>;

const sender = (baseUrl: string, apiKey: string, extraHeaders: Record<string, string> = {}): Send => async (method, path, options = {}) => {
  const result = await call(path, { baseUrl, method, apiKey, headers: { ...extraHeaders, ...options.headers }, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  return { status: result.status, headers: result.headers, json: result.json };
};
const unique = () => Math.random().toString(36).slice(2, 10);

let stateful: RunningProcess;
let bounded: RunningProcess;
beforeAll(async () => {
  [stateful, bounded] = await Promise.all([startMock({}, ['--stateful']), startMock({ PATCHBAY_MOCK_STATEFUL: 'true', PATCHBAY_MOCK_MAX_KEYS: '2', PATCHBAY_MOCK_MAX_CONNECTIONS: '5' })]);
});
afterAll(async () => {
  await Promise.all([stateful?.stop(), bounded?.stop()]);
});

describe('the stateful mock and the server, on the same scripted session', () => {
  const servers = serverTargets();
  let reference: Transcript;

  beforeAll(async () => {
    const server = servers[0]!;
    const { apiKey } = await newTenantKey(server);
    reference = await runSession(sender(server.baseUrl, apiKey), unique());
  });

  it('the server answers the session as the spec says (the reference transcript)', () => {
    expect(violationsOf(reference)).toEqual([]);
    expect(reference.steps.map((s) => s.status)).toEqual([201, 400, 201, 201, 422, 409, 200, 200, 200, 412, 200, 200, 200, 201, 200, 201, 200, 201, 409, 200, 409, 200, 200, 201, 200, 404]);
  });

  it.each(servers.slice(1).map((s) => ({ name: s.name, target: s })))('$name gives the same transcript', async ({ target }) => {
    const { apiKey } = await newTenantKey(target);
    const transcript = await runSession(sender(target.baseUrl, apiKey), unique());
    expect(transcript.steps).toEqual(reference.steps);
  });

  it('the mock started with --stateful gives the same transcript', async () => {
    const transcript = await runSession(sender(stateful.url, `frontend-${unique()}`), unique());
    expect(violationsOf(transcript)).toEqual([]);
    expect(transcript.steps).toEqual(reference.steps);
  });

  it('the stateless mock asked with Prefer: stateful=true gives the same transcript', async () => {
    const transcript = await runSession(sender(inject('mockUrl'), `frontend-${unique()}`, { Prefer: 'stateful=true' }), unique());
    expect(violationsOf(transcript)).toEqual([]);
    expect(transcript.steps).toEqual(reference.steps);
  });
});

describe('the stateful mock', () => {
  const send = (key: string) => sender(stateful.url, key);

  it('starts every key from the examples, and keeps one key’s changes from another', async () => {
    const [alice, bob] = [`alice-${unique()}`, `bob-${unique()}`];
    const seeded = (await send(alice)('GET', '/v1/connections')).json as { data: Json[] };
    expect(seeded.data.length).toBeGreaterThanOrEqual(4);
    const created = await send(alice)('POST', '/v1/connections', { headers: { 'Content-Type': 'application/json' }, body: { provider: 'stripe', reference: 'alice-only' } });
    expect(created.status).toBe(201);
    const id = (created.json as Json).id as string;
    expect(((await send(alice)('GET', '/v1/connections')).json as { data: Json[] }).data.map((c) => c.id)).toContain(id);
    expect(((await send(bob)('GET', '/v1/connections')).json as { data: Json[] }).data.map((c) => c.id)).not.toContain(id);
    expect((await send(bob)('GET', `/v1/connections/${id}`)).status).toBe(404);
  });

  it('pages a list with real cursors: every connection once, in order, whatever the page size', async () => {
    const key = `pager-${unique()}`;
    for (const n of [1, 2, 3]) await send(key)('POST', '/v1/connections', { headers: { 'Content-Type': 'application/json' }, body: { provider: 'stripe', reference: `page-${n}`, priority: n } });
    const all = ((await send(key)('GET', '/v1/connections?sort=priority')).json as { data: Json[] }).data.map((c) => c.id);
    expect(all.length).toBe(7);
    for (const limit of [1, 2, 5]) {
      const seen: unknown[] = [];
      let cursor: string | null = null;
      do {
        const page = await send(key)('GET', `/v1/connections?sort=priority&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(specViolations('listConnections', page.status, page.json)).toEqual([]);
        const body = page.json as { data: Json[]; next_cursor: string | null };
        seen.push(...body.data.map((c) => c.id));
        cursor = body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(all);
    }
    const priorities = ((await send(key)('GET', '/v1/connections?sort=-priority&provider=stripe&include_total=true')).json as { data: Json[]; total_count: number });
    expect(priorities.data.map((c) => c.priority)).toEqual([...priorities.data.map((c) => c.priority as number)].sort((a, b) => b - a));
    expect(priorities.total_count).toBe(priorities.data.length);
    const cursor = ((await send(key)('GET', '/v1/connections?limit=1')).json as { next_cursor: string }).next_cursor;
    const wrongCursor = await send(key)('GET', `/v1/connections?sort=name&cursor=${cursor}`);
    expect(wrongCursor.status).toBe(400);
    expect(wrongCursor.json).toMatchObject({ code: 'validation_failed', errors: [{ pointer: '/query/cursor' }] });
  });

  it('refuses a status transition the server refuses, naming the allowed ones', async () => {
    const key = `lifecycle-${unique()}`;
    // The examples' QuickBooks connection is pending_auth: it may only be disabled.
    const answer = await send(key)('PATCH', '/v1/connections/conn_01jd5qbm2p4r6t8w0y2a4c6e8g', { headers: { 'Content-Type': 'application/merge-patch+json' }, body: { status: 'active' } });
    expect(answer.status).toBe(409);
    expect(answer.json).toMatchObject({ code: 'conflict', allowed_transitions: ['disabled'], errors: [{ pointer: '/status' }] });
  });

  it('never keeps a credential: the answers and the events carry only its summary', async () => {
    const key = `secrets-${unique()}`;
    const secret = 'sk_test_51NeverEchoedBackByTheMock9999';
    const created = await call('/v1/connections', { baseUrl: stateful.url, method: 'POST', apiKey: key, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ provider: 'stripe', credentials: { secret_key: secret } }) });
    expect(created.text).not.toContain(secret);
    const id = (created.json as Json).id as string;
    for (const path of [`/v1/connections/${id}`, `/v1/connections/${id}/events`, '/v1/connections']) {
      const answer = await call(path, { baseUrl: stateful.url, apiKey: key });
      expect(answer.text).not.toContain(secret);
    }
    expect(stateful.output()).not.toContain(secret);
  });

  it('DELETE /_mock/state forgets one key’s changes and nobody else’s', async () => {
    const [key, other] = [`reset-${unique()}`, `keep-${unique()}`];
    const body = { headers: { 'Content-Type': 'application/json' }, body: { provider: 'stripe', reference: 'to-forget' } };
    const mine = (await send(key)('POST', '/v1/connections', body)).json as Json;
    const theirs = (await send(other)('POST', '/v1/connections', body)).json as Json;
    expect((await send(key)('DELETE', '/_mock/state')).status).toBe(204);
    expect((await send(key)('GET', `/v1/connections/${mine.id}`)).status).toBe(404);
    expect((await send(key)('GET', '/v1/connections/conn_01jd5qaz8x3k7m2n4p6r8t0vwy')).status).toBe(200);
    expect((await send(other)('GET', `/v1/connections/${theirs.id}`)).status).toBe(200);
  });

  it('stays bounded: a key past the connection bound gets a 409, the least recent key is forgotten', async () => {
    const post = (key: string, n: number) => sender(bounded.url, key)('POST', '/v1/connections', { headers: { 'Content-Type': 'application/json' }, body: { provider: 'stripe', reference: `bound-${n}` } });
    // Four examples and one more make five.
    expect((await post('first', 1)).status).toBe(201);
    const full = await post('first', 2);
    expect(full.status).toBe(409);
    expect(full.json).toMatchObject({ code: 'conflict', detail: expect.stringContaining('/_mock/state') });
    await post('second', 1);
    await post('third', 1); // a third key: 'first' is the least recently used and is forgotten
    const list = (await sender(bounded.url, 'first')('GET', '/v1/connections?q=bound-')).json as { data: Json[] };
    expect(list.data).toEqual([]);
  });
});
