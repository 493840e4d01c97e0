/**
 * Webhooks (issue 15), over HTTP against a server of its own on each store (PGlite and
 * PostgreSQL; short retry schedule, fast polling) and a receiver this test runs on 127.0.0.1
 * (allowed in development mode only). Every delivery is verified with the independent
 * `standardwebhooks` package and validated against its event type's schema from the bundle;
 * none carries a secret. The endpoints API is driven through client.webhooks too.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';
import { createPatchbayClient, isPatchbayError, verifyWebhook, WebhookVerificationError } from '@patchbay/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadDocument } from '@patchbay/api-types/documents';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { CONNECT_RETURN_ORIGIN } from '../support/global-setup.js';
import { scanningFetch } from '../support/secrets.js';
import { expectNoSecrets, registerSecret } from '../support/secrets.js';
import { stripeSecret, uniqueRef } from './factories.js';

const MASTER_KEY = Buffer.alloc(32, 41).toString('base64');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of the webhooks test');
/** Three retries 0.3 s apart: the whole schedule in about a second. */
const SCHEDULE = '0.3,0.3,0.3';

const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(loadDocument('connections'), 'patchbay:connections');
const webhooks = (loadDocument('connections') as unknown as { webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: { $ref: string } }> } } }> }).webhooks;

/** The violations of a payload against its event type's schema in the bundle's `webhooks`. */
function payloadViolations(payload: { type: string }): string[] {
  const hook = webhooks[payload.type];
  if (!hook) return [`no webhook '${payload.type}' in the spec`];
  const validate = ajv.compile({ $ref: `patchbay:connections${hook.post.requestBody.content['application/json']!.schema.$ref}` });
  return validate(payload) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
}

/** A receiver: records every request; `failures[path]` requests to a path answer 503 first. */
async function startReceiver() {
  const received: Received[] = [];
  const failures = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, headers: req.headers, body, payload: JSON.parse(body) });
      const left = failures.get(path) ?? 0;
      if (path.startsWith('/dead') || left > 0) {
        failures.set(path, left - 1);
        res.writeHead(503).end('not now');
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, failures, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Each store: a server of its own on PGlite, and on a fresh PostgreSQL database (reported as
 * skipped, with the reason, where there is none; under CI the global setup fails instead). */
const STORES = ['pglite', 'postgres'] as const;
const postgresUnavailable = inject('postgresServerUrl') ? undefined : (inject('postgresUnavailable') ?? 'no PostgreSQL server was started');

for (const store of STORES) {
const title = `webhooks on ${store === 'pglite' ? 'PGlite' : 'PostgreSQL'}`;
(store === 'postgres' && postgresUnavailable ? describe.skip : describe)(store === 'postgres' && postgresUnavailable ? `${title} (SKIPPED: ${postgresUnavailable})` : title, () => {
  let db: TestDatabase | undefined;
  let server: RunningServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let key: string;
  let readOnlyKey: string;
  let strangerKey: string;

  const api = async (path: string, init: { method?: string; body?: unknown; key?: string; type?: string } = {}) => {
    const response = await fetch(`${server.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { 'X-Api-Key': init.key ?? key, ...(init.body !== undefined ? { 'Content-Type': init.type ?? 'application/json' } : {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const admin = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const newKey = async (scopes: string[]) => {
    const tenant = await admin('/admin/v1/tenants', { name: `webhooks ${uniqueRef()}` });
    const made = await admin(`/admin/v1/tenants/${tenant.id}/api-keys`, { name: 'webhooks test', scopes });
    if (!made.api_key) throw new Error(`no key: ${JSON.stringify(made)}`);
    return { tenantId: tenant.id as string, apiKey: registerSecret(made.api_key, 'a webhooks test key') };
  };
  const createEndpoint = async (path: string, extra: Record<string, unknown> = {}) => {
    const created = await api('/v1/webhook-endpoints', { method: 'POST', body: { url: `${receiver.url}${path}`, ...extra } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    registerSecret(created.body.signing_secret, 'a webhook signing secret');
    return created.body as { id: string; signing_secret: string };
  };
  const createConnection = async () => {
    const created = await api('/v1/connections', { method: 'POST', body: { provider: 'stripe', reference: uniqueRef(), name: 'Stripe EU', credentials: { secret_key: stripeSecret() } } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: string };
  };
  const at = (path: string) => receiver.received.filter((r) => r.path === path);

  beforeAll(async () => {
    if (store === 'postgres') {
      const made = await createTestDatabase();
      if ('unavailable' in made) throw new Error(made.unavailable);
      db = made;
    }
    receiver = await startReceiver();
    server = await startServer(db ? { store: 'postgres', databaseUrl: db.url } : { store: 'pglite' }, {
      PATCHBAY_ADMIN_KEY: ADMIN_KEY,
      PATCHBAY_MASTER_KEY: MASTER_KEY,
      PATCHBAY_WEBHOOK_RETRY_SCHEDULE: SCHEDULE,
      PATCHBAY_WEBHOOK_POLL_MS: '50',
      PATCHBAY_CONNECT_RETURN_ORIGINS: CONNECT_RETURN_ORIGIN,
    });
    const all = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'webhooks:read', 'webhooks:write'];
    ({ apiKey: key } = await newKey(all));
    ({ apiKey: strangerKey } = await newKey(all));
    ({ apiKey: readOnlyKey } = await newKey(['connections:read', 'connections:write']));
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await receiver?.close();
    await db?.drop();
  });

  it('every change sends its event type, signed per Standard Webhooks, valid against its schema, with no secret in it', async () => {
    const endpoint = await createEndpoint('/all');
    const connection = await createConnection();
    const id = connection.id;
    expect((await api(`/v1/connections/${id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { priority: 7 } })).status).toBe(200);
    expect((await api(`/v1/connections/${id}/credentials`, { method: 'PUT', body: { credentials: { secret_key: stripeSecret() } } })).status).toBe(200);
    expect((await api(`/v1/connections/${id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { status: 'disabled' } })).status).toBe(200);
    expect((await api(`/v1/connections/${id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { status: 'active' } })).status).toBe(200);
    const failed = { outcome: 'failed', entity: 'invoice', direction: 'inbound', error: { code: 'provider_unauthorized', message: 'The API answered 401.' } };
    for (let i = 0; i < 3; i++) expect((await api(`/v1/connections/${id}/sync-runs`, { method: 'POST', body: failed })).status).toBe(201);
    expect((await api(`/v1/connections/${id}/sync-runs`, { method: 'POST', body: { outcome: 'succeeded', entity: 'invoice', direction: 'inbound' } })).status).toBe(201);
    expect((await api(`/v1/connections/${id}`, { method: 'DELETE' })).status).toBe(200);

    const expected = ['connection.created', 'connection.updated', 'connection.credentials_replaced', 'connection.status_changed', 'connection.status_changed', 'connection.sync_failed', 'connection.sync_failed', 'connection.sync_failed', 'connection.recovered', 'connection.archived'];
    const got = await until('every event', () => at('/all').length >= expected.length && at('/all'));
    expect(got.map((r) => r.payload.type)).toEqual(expected);
    const verifier = new Webhook(endpoint.signing_secret);
    for (const delivery of got) {
      expect(() => verifier.verify(delivery.body, delivery.headers as Record<string, string>)).not.toThrow();
      // The client's verifyWebhook agrees with the independent package.
      expect(await verifyWebhook(delivery.body, delivery.headers, endpoint.signing_secret)).toEqual(delivery.payload);
      expect(payloadViolations(delivery.payload), delivery.body).toEqual([]);
      expect(delivery.payload.data.connection_id).toBe(id);
      expectNoSecrets(delivery.body);
      expect(delivery.body).not.toContain(endpoint.signing_secret);
    }
    // Ordered per connection: versions only go up.
    const versions = got.map((r) => r.payload.data.version as number);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(got[3]!.payload.data).toMatchObject({ status_from: 'active', status_to: 'disabled' });
    // A secret changed is named, never shown.
    expect(got[2]!.payload.data.changed_fields).toEqual(['credentials.secret_key']);
    // The delivery log shows each accepted attempt.
    const log = await api(`/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=200`);
    expect(log.status).toBe(200);
    expect(log.body.data).toHaveLength(expected.length);
    expect(log.body.data.every((d: { status: string; attempts: { status_code: number }[] }) => d.status === 'succeeded' && d.attempts[0]!.status_code === 200)).toBe(true);
    await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  }, 60_000);

  it('orders each connection’s events per endpoint while several connections change at once', async () => {
    const endpoint = await createEndpoint('/order', { event_types: ['connection.updated'] });
    const connections = await Promise.all([createConnection(), createConnection(), createConnection()]);
    await Promise.all(
      connections.map(async (c) => {
        for (let p = 1; p <= 5; p++) expect((await api(`/v1/connections/${c.id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { priority: p } })).status).toBe(200);
      }),
    );
    const got = await until('15 updates', () => at('/order').length >= 15 && at('/order'));
    expect(got.every((r) => r.payload.type === 'connection.updated')).toBe(true);
    for (const c of connections) {
      const versions = got.filter((r) => r.payload.data.connection_id === c.id).map((r) => r.payload.data.version);
      expect(versions).toEqual([2, 3, 4, 5, 6]);
    }
    await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  }, 60_000);

  it('retries a failing receiver with the same webhook-id until it accepts, once in the log of accepted deliveries', async () => {
    const endpoint = await createEndpoint('/flaky', { event_types: ['connection.created'] });
    receiver.failures.set('/flaky', 2);
    await createConnection();
    const got = await until('the third attempt', () => at('/flaky').length >= 3 && at('/flaky'));
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    let log = (await api(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)).body;
    for (let tries = 0; log.data[0]?.status !== 'succeeded' && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 50));
      log = (await api(`/v1/webhook-endpoints/${endpoint.id}/deliveries`)).body;
    }
    expect(log.data).toHaveLength(1);
    expect(log.data[0].attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 503, 200]);
    expect(log.data[0].attempts[0].response_body).toBe('not now');
  }, 60_000);

  it('signs with both secrets inside a rotation’s overlap, and with the new one only after it', async () => {
    const endpoint = await createEndpoint('/rotated', { event_types: ['connection.created'] });
    const rotated = await api(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret?overlap_seconds=3600`, { method: 'POST' });
    expect(rotated.status).toBe(200);
    registerSecret(rotated.body.signing_secret, 'a rotated webhook secret');
    expect(rotated.body.previous_secret_expires_at).not.toBeNull();
    await createConnection();
    const [inOverlap] = await until('a delivery', () => at('/rotated').length >= 1 && at('/rotated'));
    expect(String(inOverlap!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [endpoint.signing_secret, rotated.body.signing_secret]) {
      expect(() => new Webhook(secret).verify(inOverlap!.body, inOverlap!.headers as Record<string, string>)).not.toThrow();
    }
    // verifyWebhook: either secret verifies; a tampered body or a stale timestamp does not.
    expect((await verifyWebhook(inOverlap!.body, inOverlap!.headers, [endpoint.signing_secret])).type).toBe('connection.created');
    await expect(verifyWebhook(inOverlap!.body.replace('connection', 'Connection'), inOverlap!.headers, rotated.body.signing_secret)).rejects.toBeInstanceOf(WebhookVerificationError);
    await expect(verifyWebhook(inOverlap!.body, inOverlap!.headers, rotated.body.signing_secret, { now: new Date(Date.now() + 600_000) })).rejects.toThrow(/tolerance/);
    const again = await api(`/v1/webhook-endpoints/${endpoint.id}/rotate-secret?overlap_seconds=0`, { method: 'POST' });
    registerSecret(again.body.signing_secret, 'a rotated webhook secret');
    await createConnection();
    const after = await until('a second delivery', () => at('/rotated').length >= 2 && at('/rotated')[1]);
    expect(() => new Webhook(again.body.signing_secret).verify(after.body, after.headers as Record<string, string>)).not.toThrow();
    expect(() => new Webhook(rotated.body.signing_secret).verify(after.body, after.headers as Record<string, string>)).toThrow();
    await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  }, 60_000);

  it('disables an endpoint whose delivery fails the whole schedule, and tells the tenant’s other endpoints', async () => {
    const watcher = await createEndpoint('/watcher', { event_types: ['endpoint.disabled'] });
    const dead = await createEndpoint('/dead', { event_types: ['connection.created'] });
    await createConnection();
    const [notice] = await until('endpoint.disabled', () => at('/watcher').length >= 1 && at('/watcher'));
    expect(notice!.payload).toMatchObject({ type: 'endpoint.disabled', data: { endpoint_id: dead.id } });
    expect(payloadViolations(notice!.payload)).toEqual([]);
    expect(() => new Webhook(watcher.signing_secret).verify(notice!.body, notice!.headers as Record<string, string>)).not.toThrow();
    expect(at('/dead')).toHaveLength(4); // the first attempt and three retries
    const state = await api(`/v1/webhook-endpoints/${dead.id}`);
    expect(state.body).toMatchObject({ enabled: false });
    expect(state.body.disabled_reason).toContain('retry schedule');
    const log = await api(`/v1/webhook-endpoints/${dead.id}/deliveries`);
    expect(log.body.data[0]).toMatchObject({ status: 'failed', attempts_made: 4, next_attempt_at: null });
    // Redelivery needs the endpoint enabled again.
    const eventId = log.body.data[0].event_id;
    expect((await api(`/v1/webhook-endpoints/${dead.id}/deliveries/${eventId}/redeliver`, { method: 'POST' })).status).toBe(409);
    await api(`/v1/webhook-endpoints/${watcher.id}`, { method: 'DELETE' });
    await api(`/v1/webhook-endpoints/${dead.id}`, { method: 'DELETE' });
  }, 60_000);

  it('refuses plain http to a public host, keeps tenants apart, and needs the webhooks scopes', async () => {
    const refused = await api('/v1/webhook-endpoints', { method: 'POST', body: { url: 'http://hooks.acme.example/patchbay' } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ pointer: '/url', message: 'must use https (http only to a loopback address in development mode)' }]);
    const endpoint = await createEndpoint('/private');
    const list = await api('/v1/webhook-endpoints');
    expect(list.body.data.map((e: { id: string }) => e.id)).toContain(endpoint.id);
    expect(JSON.stringify(list.body)).not.toContain(endpoint.signing_secret);
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { key: strangerKey })).status).toBe(404);
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { key: strangerKey, method: 'DELETE' })).status).toBe(404);
    expect((await api('/v1/webhook-endpoints', { key: strangerKey })).body.data).toEqual([]);
    expect((await api('/v1/webhook-endpoints', { key: readOnlyKey })).status).toBe(403);
    expect((await api('/v1/webhook-endpoints', { key: readOnlyKey, method: 'POST', body: { url: 'https://hooks.acme.example/x' } })).status).toBe(403);
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await api(`/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
  }, 60_000);

  it('replays a time range to a new endpoint through client.webhooks: the range’s stored events, oldest first, with their original webhook-id; bounded, isolated, scoped', async () => {
    const client = createPatchbayClient({ baseUrl: server.url, apiKey: key, fetch: scanningFetch(), retries: false });
    const types = ['connection.created', 'connection.updated'] as const;
    const source = await client.webhooks.create({ url: `${receiver.url}/replay-source`, event_types: [...types] });
    registerSecret(source.signing_secret, 'a webhook signing secret');
    const from = new Date(Date.now() - 1_000);
    const connection = await createConnection();
    expect((await api(`/v1/connections/${connection.id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { priority: 3 } })).status).toBe(200);
    const original = await until('two events at the source', () => at('/replay-source').length >= 2 && at('/replay-source'));
    const to = new Date(Date.now() + 1_000);

    const target = await client.webhooks.create({ url: `${receiver.url}/replay-target`, event_types: [...types], description: 'catching up' });
    registerSecret(target.signing_secret, 'a webhook signing secret');
    expect((await client.webhooks.get(target.id)).description).toBe('catching up');
    expect((await client.webhooks.list().toArray()).map((e) => e.id)).toEqual(expect.arrayContaining([source.id, target.id]));
    const replay = await client.webhooks.replay(target.id, { from: from.toISOString(), to: to.toISOString() });
    expect(replay).toEqual({ endpoint_id: target.id, from: from.toISOString(), to: to.toISOString(), event_types: [...types], events_queued: 2 });
    const replayed = await until('the replayed events', () => at('/replay-target').length >= 2 && at('/replay-target'));
    expect(replayed.map((r) => r.headers['webhook-id'])).toEqual(original.map((r) => r.headers['webhook-id']));
    expect(replayed.map((r) => r.payload.type)).toEqual(['connection.created', 'connection.updated']);
    for (const delivery of replayed) expect(() => new Webhook(target.signing_secret).verify(delivery.body, delivery.headers as Record<string, string>)).not.toThrow();
    const log = await client.webhooks.deliveries(target.id).toArray();
    expect(log.map((d) => d.event_id).sort()).toEqual(original.map((r) => String(r.headers['webhook-id'])).sort());

    // The other helpers: redeliver one, rotate, update, delete.
    const again = await client.webhooks.redeliver(target.id, String(original[0]!.headers['webhook-id']));
    expect(again).toMatchObject({ endpoint_id: target.id, status: 'pending', attempts_made: 0 });
    await until('the redelivery', () => at('/replay-target').length >= 3);
    const rotated = await client.webhooks.rotateSecret(target.id, 60);
    registerSecret(rotated.signing_secret, 'a rotated webhook secret');
    expect(rotated.previous_secret_expires_at).not.toBeNull();
    expect((await client.webhooks.update(target.id, { enabled: false })).enabled).toBe(false);

    // Bounded, checked, isolated and scoped: each refusal a problem naming its field.
    const refusal = async (call: Promise<unknown>) => call.then(() => undefined, (error: unknown) => (isPatchbayError(error) ? error : undefined));
    const disabled = await refusal(client.webhooks.replay(target.id, { from: from.toISOString(), to: to.toISOString() }));
    expect(disabled?.status).toBe(409);
    await client.webhooks.update(target.id, { enabled: true });
    const tooLong = await refusal(client.webhooks.replay(target.id, { from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:01Z' }));
    expect(tooLong?.status).toBe(400);
    expect(tooLong?.errors).toEqual([{ pointer: '/to', message: 'must be at most 31 days after from' }]);
    const backwards = await refusal(client.webhooks.replay(target.id, { from: to.toISOString(), to: from.toISOString() }));
    expect(backwards?.errors).toEqual([{ pointer: '/to', message: 'must be after from' }]);
    const notADate = await api(`/v1/webhook-endpoints/${target.id}/replays`, { method: 'POST', body: { from: 'yesterday', to: to.toISOString() } });
    expect(notADate.status).toBe(400);
    expect(notADate.body.errors[0].pointer).toBe('/from');
    const stranger = createPatchbayClient({ baseUrl: server.url, apiKey: strangerKey, fetch: scanningFetch(), retries: false });
    expect((await refusal(stranger.webhooks.replay(target.id, { from: from.toISOString(), to: to.toISOString() })))?.status).toBe(404);
    const readOnly = createPatchbayClient({ baseUrl: server.url, apiKey: readOnlyKey, fetch: scanningFetch(), retries: false });
    expect((await refusal(readOnly.webhooks.replay(target.id, { from: from.toISOString(), to: to.toISOString() })))?.status).toBe(403);
    // Nothing more was queued by the refusals.
    expect((await client.webhooks.deliveries(target.id).toArray()).length).toBe(3);
    await client.webhooks.delete(target.id);
    await client.webhooks.delete(source.id);
    expect((await refusal(client.webhooks.get(target.id)))?.status).toBe(404);
  }, 60_000);

  it('sends connect_session.completed from the completing transaction: once, ids only, after a refused submission sent nothing', async () => {
    const endpoint = await createEndpoint('/sessions', { event_types: ['connect_session.completed'] });
    const created = await api('/v1/connect-sessions', {
      method: 'POST',
      body: { slots: [{ provider: 'stripe' }], environment: 'test', end_user: { id: 'customer-4711', display_name: 'Kestrel Coffee' }, return_url: `${CONNECT_RETURN_ORIGIN}/done` },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const link = new URL(new URL(created.body.url).pathname, server.url).toString();
    registerSecret(link.split('/').pop()!, 'a connect session token');
    const page = await (await fetch(link)).text();
    const formToken = /name="form_token" value="([^"]+)"/.exec(page)![1]!;
    const submit = (fields: Record<string, string>) =>
      fetch(link, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() }).then(async (r) => ({ status: r.status, html: await r.text() }));
    const wrong = await submit({ form_token: formToken, 's0.provider': 'stripe', 's0.c.secret_key': 'not-a-key' });
    expect(wrong.status).toBe(422);
    const retry = /name="form_token" value="([^"]+)"/.exec(wrong.html)![1]!;
    const secret = stripeSecret();
    const done = await submit({ form_token: retry, 's0.provider': 'stripe', 's0.c.secret_key': secret });
    expect(done.status, done.html).toBe(200);
    const session = (await api(`/v1/connect-sessions/${created.body.id}`)).body;
    expect(session.status).toBe('completed');
    const [event] = await until('connect_session.completed', () => at('/sessions').length >= 1 && at('/sessions'));
    expect(payloadViolations(event!.payload), event!.body).toEqual([]);
    expect(event!.payload).toMatchObject({
      type: 'connect_session.completed',
      data: { session_id: session.id, environment: 'test', end_user_id: 'customer-4711', connection_ids: session.connection_ids },
    });
    expect(() => new Webhook(endpoint.signing_secret).verify(event!.body, event!.headers as Record<string, string>)).not.toThrow();
    expect(event!.body).not.toContain(secret);
    expectNoSecrets(event!.body);
    // Exactly one: the refused submission wrote nothing (its transaction rolled back).
    const log = await api(`/v1/webhook-endpoints/${endpoint.id}/deliveries`);
    expect(log.body.data.map((d: { event_type: string }) => d.event_type)).toEqual(['connect_session.completed']);
    expect(at('/sessions')).toHaveLength(1);
    await api(`/v1/webhook-endpoints/${endpoint.id}`, { method: 'DELETE' });
  }, 60_000);
});
}
