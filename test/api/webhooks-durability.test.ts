/**
 * Webhook delivery that survives crashes and scale-out (issue 15,
 * decision 0024), over HTTP against servers of its own and a receiver on 127.0.0.1:
 * - on PostgreSQL, a server killed with SIGKILL while its attempts are in flight: a restarted
 *   server delivers every event once its leases lapse, each with the webhook-id (and body) the
 *   receiver saw before;
 * - on PostgreSQL, two server processes on one database: every event reaches the receiver
 *   exactly once (each attempt sent by one process only), in order per connection.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { stripeSecret, uniqueRef } from './factories.js';

const MASTER_KEY = Buffer.alloc(32, 43).toString('base64');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of webhooks-durability');
const postgresUnavailable = inject('postgresServerUrl') ? undefined : (inject('postgresUnavailable') ?? 'no PostgreSQL server was started');

interface Hit {
  path: string;
  id: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A receiver; `mode` decides each answer: 'ok' (200), 'fail' (503) or 'hang' (never answers). */
async function startReceiver() {
  const hits: Hit[] = [];
  const hanging: ServerResponse[] = [];
  const state = { mode: 'ok' as 'ok' | 'fail' | 'hang' };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      hits.push({ path: req.url ?? '/', id: String(req.headers['webhook-id']), headers: req.headers, body });
      const mode = (req.url ?? '').startsWith('/dead') ? 'fail' : state.mode;
      if (mode === 'hang') hanging.push(res);
      else res.writeHead(mode === 'ok' ? 200 : 503).end(mode);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    state,
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A tenant on `url` with a key holding the scopes these tests use. */
async function newTenant(url: string): Promise<string> {
  const admin = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
  const tenant = await admin('/admin/v1/tenants', { name: `webhooks durability ${uniqueRef()}` });
  const made = await admin(`/admin/v1/tenants/${tenant.id}/api-keys`, { name: 'durability', scopes: ['connections:read', 'connections:write', 'credentials:write', 'webhooks:read', 'webhooks:write'] });
  return registerSecret(made.api_key, 'a webhooks durability key');
}

function api(url: string, apiKey: string) {
  return async (path: string, init: { method?: string; body?: unknown; type?: string } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: { 'X-Api-Key': apiKey, ...(init.body === undefined ? {} : { 'Content-Type': init.type ?? 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
}

const created = async (call: ReturnType<typeof api>, path: string, body: unknown) => {
  const result = await call(path, { method: 'POST', body });
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  return result.body;
};

const pgTitle = 'webhook delivery across crashes and processes on PostgreSQL';
(postgresUnavailable ? describe.skip : describe)(postgresUnavailable ? `${pgTitle} (SKIPPED: ${postgresUnavailable})` : pgTitle, () => {
  let db: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const servers: RunningServer[] = [];
  const start = async (env: Record<string, string> = {}) => {
    const server = await startServer(
      { store: 'postgres', databaseUrl: db.url },
      { PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, PATCHBAY_WEBHOOK_POLL_MS: '20', PATCHBAY_WEBHOOK_RETRY_SCHEDULE: '0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2,0.2', ...env },
    );
    servers.push(server);
    return server;
  };
  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) throw new Error(made.unavailable);
    db = made;
    receiver = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await receiver?.close();
    await db?.drop();
  });

  it('when a server is killed with SIGKILL while attempts are in flight, then a restarted one delivers every event, each with the webhook-id and body the receiver saw before', async () => {
    // Attempts time out after 1 s; a lease lasts that plus 30 s, then the next server takes over.
    const first = await start({ PATCHBAY_WEBHOOK_TIMEOUT_MS: '1000' });
    const apiKey = await newTenant(first.url);
    const call = api(first.url, apiKey);
    const endpoint = await created(call, '/v1/webhook-endpoints', { url: `${receiver.url}/crash`, event_types: ['connection.created', 'connection.updated'] });
    const secret = registerSecret(endpoint.signing_secret, 'a webhook signing secret');
    receiver.state.mode = 'hang';
    const connections = [];
    for (let i = 0; i < 4; i++) connections.push(await created(call, '/v1/connections', { provider: 'stripe', reference: uniqueRef(), credentials: { secret_key: stripeSecret() } }));
    for (const c of connections) {
      for (let p = 1; p <= 3; p++) expect((await call(`/v1/connections/${c.id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { priority: p } })).status).toBe(200);
    }
    const events = 4 * 4;
    // The heads of the four connections are in flight (the receiver holds them): kill now.
    await until('attempts in flight', () => receiver.hits.filter((h) => h.path === '/crash').length >= 4);
    first.run.child.kill('SIGKILL');
    await first.stop();
    const before = receiver.hits.filter((h) => h.path === '/crash').map((h) => ({ id: h.id, body: h.body }));
    receiver.state.mode = 'ok';

    const second = await start();
    const secondCall = api(second.url, apiKey);
    const accepted = await until(
      'every event delivered after the restart',
      async () => {
        const rows = (await secondCall(`/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=100`)).body?.data as { event_id: string; status: string }[] | undefined;
        return rows && rows.length === events && rows.every((d) => d.status === 'succeeded') && rows;
      },
      90_000,
    );
    const ids = new Set(accepted.map((d) => d.event_id));
    expect(ids.size).toBe(events);
    const hits = receiver.hits.filter((h) => h.path === '/crash');
    // Every id the receiver saw is an event's, and every event's id was seen; the same id always came with the same body.
    expect(new Set(hits.map((h) => h.id))).toEqual(ids);
    for (const id of ids) expect(new Set(hits.filter((h) => h.id === id).map((h) => h.body)).size, id).toBe(1);
    // What was in flight at the kill came again with the same webhook-id.
    for (const b of before) expect(hits.filter((h) => h.id === b.id).length, b.id).toBeGreaterThanOrEqual(2);
    for (const h of hits) expect(() => new Webhook(secret).verify(h.body, h.headers as Record<string, string>)).not.toThrow();
    // Order per connection held through the crash, on what the receiver accepted last per id.
    for (const c of connections) {
      const versions = hits.filter((h) => JSON.parse(h.body).data.connection_id === c.id).map((h) => JSON.parse(h.body).data.version as number);
      const firstSeen = versions.filter((v, i) => versions.indexOf(v) === i);
      expect(firstSeen).toEqual([1, 2, 3, 4]);
    }
    await second.stop();
  }, 180_000);

  it('when two server processes deliver from one database, then every event reaches the receiver exactly once, in order per connection', async () => {
    const [a, b] = [await start(), await start()];
    const apiKey = await newTenant(a.url);
    const [onA, onB] = [api(a.url, apiKey), api(b.url, apiKey)];
    const endpoint = await created(onA, '/v1/webhook-endpoints', { url: `${receiver.url}/pair`, event_types: ['connection.created', 'connection.updated'] });
    registerSecret(endpoint.signing_secret, 'a webhook signing secret');
    receiver.state.mode = 'ok';
    // Writes through both processes at once, several connections each.
    const CONNECTIONS = 8;
    const UPDATES = 5;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async (_, i) => {
        const call = i % 2 ? onA : onB;
        const c = await created(call, '/v1/connections', { provider: 'stripe', reference: uniqueRef(), credentials: { secret_key: stripeSecret() } });
        ids.push(c.id);
        for (let p = 1; p <= UPDATES; p++) expect((await (p % 2 ? onA : onB)(`/v1/connections/${c.id}`, { method: 'PATCH', type: 'application/merge-patch+json', body: { priority: p } })).status).toBe(200);
      }),
    );
    const total = CONNECTIONS * (1 + UPDATES);
    const rows = await until(
      'every event delivered',
      async () => {
        const data = (await onB(`/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=200`)).body?.data as { event_id: string; status: string; attempts_made: number }[] | undefined;
        return data && data.length === total && data.every((d) => d.status === 'succeeded') && data;
      },
      90_000,
    );
    // A moment for a duplicate, if any process sent one, to arrive (no assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const hits = receiver.hits.filter((h) => h.path === '/pair');
    const perId = new Map<string, number>();
    for (const h of hits) perId.set(h.id, (perId.get(h.id) ?? 0) + 1);
    expect([...perId.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(new Set(perId.keys())).toEqual(new Set(rows.map((d) => d.event_id)));
    expect(rows.every((d) => d.attempts_made === 1)).toBe(true);
    for (const id of ids) {
      const versions = hits.map((h) => JSON.parse(h.body).data).filter((d) => d.connection_id === id).map((d) => d.version as number);
      expect(versions).toEqual(Array.from({ length: 1 + UPDATES }, (_, i) => i + 1));
    }
  }, 180_000);
});
