/**
 * Scale-out (issue 12; docs/scaling.md): three server processes on one PostgreSQL database
 * behind HAProxy (Debian's package, test/support/haproxy.ts: roundrobin, health check on
 * /readyz, redispatch). Every request goes through the proxy unless it names a process's own
 * URL; the proxy names the process that answered in X-Patchbay-Backend, so each section checks
 * that its requests reached all three. In order, on one database:
 * - rate limits: the tenant quota the three start with holds in sum across them;
 * - a restart of all three with a new current key (the old one still allowed to decrypt);
 * - idempotency: one key sent at once to several processes creates one connection, every
 *   answer the same 201 or a 409 that a retry turns into it;
 * - revocation: the very next request with a revoked key is a 401 on every process;
 * - webhooks: every process delivers, each event is sent once, in order per connection;
 * - rotation: a key rotation beside writers on every process; afterwards every record opens
 *   under the new version alone to its last acknowledged write;
 * - a process killed with SIGKILL mid-load: no acknowledged write lost, every failed request
 *   retried with its Idempotency-Key to one definite 201.
 *
 * PostgreSQL only, like the crash and rotation-under-load tests: the embedded PGlite store
 * belongs to one process (its data directory is locked), so there is nothing to scale out on
 * it. Without haproxy it is reported as skipped, saying how to install it (under CI it fails).
 * Prints its figures (requests, writes acknowledged, writes under kill). Sized for a loaded
 * 2-core machine: six server starts in two parallel batches, a few writers at a time.
 */
import { createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildConnection, stripeSecret, stripeWebhookSecret } from './factories.js';
import { BACKEND_HEADER, freePort, haproxySkipReason, startHaproxy, type RunningHaproxy } from '../support/haproxy.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const key = (label: string) => registerSecret(randomBytes(32).toString('base64'), `a master key of the scale-out test (${label})`);
const K1 = key('v1');
const K2 = key('v2');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of the scale-out test');
/** Short, so that retries after the kill wait little for the dead holder's leases. */
const LEASE_MS = 2_000;
/** Records written under key version 1, before the three processes restart under version 2. */
const RECORDS = 30;
/** The tenant quota the three start with, for the rate-limit section: small, and a window far
 * longer than the section. The records above fit in it (they are another tenant's). */
const TENANT_QUOTA = 40;
const QUOTA_WINDOW_S = 120;

interface Answer {
  status: number;
  backend: string | null;
  headers: Headers;
  text: string;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function answerOf(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, backend: response.headers.get(BACKEND_HEADER), headers: response.headers, text, json };
}

/** Opens a row's credentials as the server does (AES-256-GCM, 12-byte IV | 16-byte tag | body) with the given KEK. */
function openRow(row: { id: string; tenant_id: string; credentials_ciphertext: Buffer; credentials_key: Buffer }, kekBase64: string): Record<string, string> {
  const aad = Buffer.from(`${row.tenant_id}/${row.id}`);
  const open = (keyBytes: Buffer, blob: Buffer) => {
    const decipher = createDecipheriv('aes-256-gcm', keyBytes, blob.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
  };
  return JSON.parse(open(open(Buffer.from(kekBase64, 'base64'), row.credentials_key), row.credentials_ciphertext).toString('utf8')) as Record<string, string>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const skipReason = haproxySkipReason();
if (skipReason) console.warn(`\n  ${skipReason}\n`);

describe.skipIf(skipReason !== null)(skipReason ?? 'scale-out: three server processes behind HAProxy on one PostgreSQL (PostgreSQL only: PGlite is one process’s store)', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let proxy: RunningHaproxy | undefined;
  /** The three backends: HAProxy's name for each, the port it was given, and its process. */
  const backends: { name: string; port: number; server?: RunningServer }[] = [];
  let tenantId = '';
  let writerKey = '';
  const ids: string[] = [];
  /** The last acknowledged secret_key of each connection the rotation section writes. */
  const acknowledged = new Map<string, string>();
  const figures: string[] = [];
  /** How long each start of the three processes took (in parallel). */
  const startSeconds: number[] = [];
  let proxied = 0;

  /** First under key version 1 alone, with a small tenant quota (the rate-limit section); then,
   * restarted, under version 2 with version 1 still allowed to decrypt and the default quotas. */
  const FIRST = { PATCHBAY_MASTER_KEY: `v1:${K1}`, PATCHBAY_RATE_LIMIT_PER_TENANT: `${TENANT_QUOTA}/${QUOTA_WINDOW_S}s`, PATCHBAY_RATE_LIMIT_PER_KEY: `1000/${QUOTA_WINDOW_S}s` };
  const ROTATED = { PATCHBAY_MASTER_KEY: `v2:${K2}`, PATCHBAY_MASTER_KEYS_PREVIOUS: `v1:${K1}` };
  const startBackends = async (env: Record<string, string>) => {
    const t = performance.now();
    await Promise.all(
      backends.map(async (b) => {
        b.server = await startServer(
          { store: 'postgres', databaseUrl: db.url },
          { PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_IDEMPOTENCY_LEASE_MS: String(LEASE_MS), PORT: String(b.port), ...env },
        );
      }),
    );
    startSeconds.push((performance.now() - t) / 1000);
  };
  /** Waits until HAProxy finds every backend healthy: a round of six requests reaches all three. */
  const allBackendsUp = async () => {
    const deadline = Date.now() + 30_000;
    let seen: string[] = [];
    while (Date.now() < deadline) {
      const round = await Promise.all(Array.from({ length: 6 }, async () => (await answerOf(await fetch(`${proxy!.url}/readyz`))).backend ?? ''));
      seen = [...new Set(round)].sort();
      if (seen.join() === 'one,three,two') return;
      await sleep(200);
    }
    throw new Error(`HAProxy did not find the three backends healthy within 30 s (answered by: ${seen.join(', ')}):\n${proxy!.output()}`);
  };
  const stopBackends = async () => {
    await Promise.all(backends.map((b) => b.server?.stop()));
  };

  /** A request through the proxy (or to `base`), with the writer's key unless `init.apiKey` says otherwise. */
  const send = async (path: string, init: RequestInit & { apiKey?: string; idempotencyKey?: string; base?: string } = {}): Promise<Answer> => {
    const { apiKey = writerKey, idempotencyKey, base, ...rest } = init;
    if (!base) proxied++;
    const headers: Record<string, string> = { 'X-Api-Key': apiKey, ...(rest.body ? { 'Content-Type': 'application/json' } : {}), ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}) };
    return answerOf(await fetch(`${base ?? proxy!.url}${path}`, { ...rest, headers: { ...headers, ...((rest.headers as Record<string, string>) ?? {}) } }));
  };
  const admin = (path: string, init: RequestInit & { base?: string } = {}) => send(path, { ...init, apiKey: ADMIN_KEY });
  const ok = (answer: Answer) => {
    expect(answer.status, answer.text).toBeLessThan(300);
    return answer.json;
  };
  const patchSecret = (id: string, secret: string) =>
    send(`/v1/connections/${id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ credentials: { secret_key: secret } }) });

  /** A tenant with a key of `scopes`, made through the proxy. */
  const newTenant = async (name: string, scopes = ['connections:read', 'connections:write', 'credentials:write']) => {
    const tenant = ok(await admin('/admin/v1/tenants', { method: 'POST', body: JSON.stringify({ name }) }));
    const issued = ok(await admin(`/admin/v1/tenants/${tenant.id}/api-keys`, { method: 'POST', body: JSON.stringify({ name: 'k', scopes }) }));
    return { tenantId: tenant.id as string, keyId: issued.id as string, apiKey: registerSecret(issued.api_key as string, 'a tenant key of the scale-out test') };
  };

  /** Retries a create with its Idempotency-Key through the proxy until the answer is not a 409 in flight or a proxy error. */
  async function retryToAnswer(idempotencyKey: string, body: unknown, apiKey = writerKey): Promise<Answer> {
    const deadline = Date.now() + LEASE_MS + 20_000;
    for (;;) {
      const answer = await send('/v1/connections', { method: 'POST', idempotencyKey, apiKey, body: JSON.stringify(body) }).catch((error: Error) => ({ status: 0, text: error.message }) as Answer);
      const definite = answer.status !== 409 && answer.status !== 0 && answer.status < 500;
      if (definite || Date.now() > deadline) return answer;
      if (answer.status === 409) expect(answer.headers.get('retry-after')).toBe('1');
      await sleep(200);
    }
  }

  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) throw new Error(`the scale-out test needs PostgreSQL: ${made.unavailable}`);
    db = made;
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();

    // Three processes on ports of their own that stay theirs across restarts, so HAProxy's
    // configuration holds.
    for (const name of ['one', 'two', 'three']) backends.push({ name, port: await freePort() });
    await startBackends(FIRST);
    proxy = await startHaproxy(backends);
    await allBackendsUp();

    // Records under key version 1, through the proxy.
    const tenant = await newTenant('scale-out');
    tenantId = tenant.tenantId;
    writerKey = tenant.apiKey;
    for (let i = 0; i < RECORDS; i += 6) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(6, RECORDS - i) }, async () => {
          const body = buildConnection();
          const created = ok(await send('/v1/connections', { method: 'POST', body: JSON.stringify(body) }));
          acknowledged.set(created.id, (body.credentials as { secret_key: string }).secret_key);
          return created.id as string;
        }),
      );
      ids.push(...batch);
    }
  }, 180_000);

  // What HAProxy said (backends taken out and back), when a test failed.
  afterEach((context) => {
    if (context.task.result?.state === 'fail' && proxy) console.log(`HAProxy's output:\n${proxy.output()}`);
  });

  afterAll(async () => {
    if (figures.length) console.log(`scale-out figures (3 processes behind HAProxy, ${proxied} requests through the proxy; the three started in ${startSeconds.map((s) => `${s.toFixed(1)} s`).join(' and ')}):\n  ${figures.join('\n  ')}`);
    await proxy?.stop();
    await stopBackends();
    await sql?.end();
    await db?.drop();
  });

  it('when a tenant spends its quota through all three processes at once, then the 2xx total is the quota and the rest are 429 with Retry-After', async () => {
    // The three run with a small tenant quota (FIRST). Three keys of one tenant, so that no
    // key's own quota is what stops them.
    const tenant = await newTenant('scale-out quota', ['connections:read']);
    const more = await Promise.all(
      [1, 2].map(async () => registerSecret(ok(await admin(`/admin/v1/tenants/${tenant.tenantId}/api-keys`, { method: 'POST', body: JSON.stringify({ name: 'k', scopes: ['connections:read'] }) })).api_key, 'a tenant key of the scale-out quota')),
    );
    const keys = [tenant.apiKey, ...more];
    const first = await send('/v1/connections', { apiKey: keys[0]! });
    expect(first.status).toBe(200);
    const field = /"per_tenant";r=(\d+);t=(\d+)/.exec(first.headers.get('ratelimit') ?? '');
    expect(field, first.headers.get('ratelimit') ?? '').not.toBeNull();
    const left = Number(field![1]);
    const secondsLeft = Number(field![2]);
    expect(left).toBeGreaterThan(3);
    const t0 = Date.now();
    // In waves of six: roundrobin gives each process two requests of every wave, so the first
    // wave (all within the quota) is allowed on all three and the last (all beyond it) refused on all three.
    const waves: Answer[][] = [];
    for (let wave = 0; wave < Math.ceil((TENANT_QUOTA * 2) / 6); wave++) waves.push(await Promise.all(Array.from({ length: 6 }, (_, i) => send('/v1/connections', { apiKey: keys[i % keys.length]! }))));
    const burst = waves.flat();
    // The whole burst fell in one window of the tenant's quota.
    expect(Date.now() - t0).toBeLessThan(secondsLeft * 1000);
    const allowed = burst.filter((a) => a.status === 200);
    const refused = burst.filter((a) => a.status === 429);
    expect(allowed.length + refused.length).toBe(burst.length);
    // Exactly what was left of the quota, counted once across the three processes.
    expect(allowed.length).toBe(left);
    for (const answer of refused) {
      expect(answer.json).toMatchObject({ status: 429, code: 'rate_limited', violated_policies: ['per_tenant'] });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(answer.headers.get('retry-after'))).toBeLessThanOrEqual(QUOTA_WINDOW_S);
    }
    expect(waves[0]!.map((a) => a.status)).toEqual(Array(6).fill(200));
    expect(waves.at(-1)!.map((a) => a.status)).toEqual(Array(6).fill(429));
    expect([...new Set(waves[0]!.map((a) => a.backend))].sort()).toEqual(['one', 'three', 'two']);
    expect([...new Set(waves.at(-1)!.map((a) => a.backend))].sort()).toEqual(['one', 'three', 'two']);
    // And directly on each process: refused there too.
    for (const b of backends) expect((await send('/v1/connections', { apiKey: keys[0]!, base: b.server!.url })).status).toBe(429);
    figures.push(`rate limits: tenant quota ${TENANT_QUOTA}/${QUOTA_WINDOW_S}s; ${burst.length} requests in waves of 6 on 3 processes with 3 keys → ${allowed.length} 200 (the ${left} left) and ${refused.length} 429 with Retry-After`);
  }, 90_000);

  it('when every process is restarted with a new current key and the old one still allowed, then HAProxy serves through all three again, old records read on each, and new writes use the new key', async () => {
    // Step 2 of the README's rotation: every process restarts with PATCHBAY_MASTER_KEY=v2 and
    // v1 in PATCHBAY_MASTER_KEYS_PREVIOUS (and, from here on, the default quotas).
    await stopBackends();
    await startBackends(ROTATED);
    await allBackendsUp();
    const underV1 = await sql.query('SELECT count(*)::int AS n FROM connections WHERE tenant_id = $1 AND credentials_key_version = 1', [tenantId]);
    expect(underV1.rows[0].n).toBe(RECORDS);
    for (const b of backends) {
      const ready = await send('/readyz', { base: b.server!.url });
      expect(ready.json).toEqual({ status: 'ok', checks: { database: 'ok', keys: 'ok' } });
      expect((await send(`/v1/connections/${ids[backends.indexOf(b)]}`, { base: b.server!.url })).status).toBe(200);
    }
    const created = ok(await send('/v1/connections', { method: 'POST', body: JSON.stringify(buildConnection()) }));
    const row = await sql.query('SELECT credentials_key_version FROM connections WHERE id = $1', [created.id]);
    expect(row.rows[0].credentials_key_version).toBe(2);
    figures.push(`restart: the three restarted under key version 2 in ${startSeconds.at(-1)!.toFixed(1)} s (in parallel), ${RECORDS} records still under version 1 and readable on each`);
  }, 90_000);

  it('when one Idempotency-Key is sent at once to several processes, then one connection is created and every answer is the same 201 (a 409 in flight turns into it on retry)', async () => {
    const seen = new Set<string>();
    let conflicts = 0;
    for (let round = 0; round < 4; round++) {
      const idempotencyKey = `scale-${randomUUID()}`;
      const body = buildConnection();
      const answers = await Promise.all(Array.from({ length: 6 }, () => send('/v1/connections', { method: 'POST', idempotencyKey, body: JSON.stringify(body) })));
      const finals: Answer[] = [];
      for (const answer of answers) {
        seen.add(answer.backend ?? '');
        if (answer.status === 409) {
          conflicts++;
          expect(answer.json).toMatchObject({ status: 409, code: 'conflict' });
          expect(answer.json.detail).toContain('Idempotency-Key');
          expect(answer.headers.get('retry-after')).toBe('1');
          finals.push(await retryToAnswer(idempotencyKey, body));
        } else {
          finals.push(answer);
        }
      }
      for (const final of finals) expect(final.status, final.text).toBe(201);
      const created = finals.map((f) => f.json.id as string);
      expect(new Set(created).size).toBe(1);
      expect(finals.filter((f) => f.headers.get('idempotent-replayed') !== 'true').length).toBeLessThanOrEqual(1);
      const rows = await sql.query('SELECT id FROM connections WHERE reference = $1', [body.reference]);
      expect(rows.rows.map((r) => r.id)).toEqual([created[0]]);
    }
    expect([...seen].sort()).toEqual(['one', 'three', 'two']);
    figures.push(`idempotency: 4 keys × 6 concurrent POSTs on 3 processes → 4 connections; ${conflicts} answers were 409 in flight, each retried to the same 201`);
  });

  it('when a tenant key is revoked through one process, then the very next requests with it are 401 on every process, directly and through the proxy', async () => {
    const revoked = await newTenant('scale-out revocation', ['connections:read']);
    // Warm every process up with the key: a per-process cache, if there were one, would hold it now.
    for (const b of backends) expect((await send('/v1/connections', { apiKey: revoked.apiKey, base: b.server!.url })).status).toBe(200);
    const deleted = await admin(`/admin/v1/tenants/${revoked.tenantId}/api-keys/${revoked.keyId}`, { method: 'DELETE' });
    ok(deleted);
    const through = await Promise.all(Array.from({ length: 6 }, () => send('/v1/connections', { apiKey: revoked.apiKey })));
    const direct = await Promise.all(backends.map((b) => send('/v1/connections', { apiKey: revoked.apiKey, base: b.server!.url })));
    for (const answer of [...through, ...direct]) {
      expect(answer.status, answer.text).toBe(401);
      expect(answer.text).not.toContain(revoked.apiKey);
    }
    expect(new Set(through.map((a) => a.backend)).size).toBe(3);
    expect(direct.map((a) => a.backend)).toEqual([null, null, null]);
    // The key that revoked it still works everywhere.
    expect((await send('/v1/connections')).status).toBe(200);
    figures.push(`revocation: revoked through ${deleted.backend}; the next 6 requests through the proxy (on ${[...new Set(through.map((a) => a.backend))].sort().join(', ')}) and 3 direct ones: all 401`);
  });

  it('when connections change through all three processes, then every process delivers webhooks and each event is sent once, in order per connection', async () => {
    // A receiver that records each delivery and accepts it.
    const received: { id: string; type: string; connectionId: string; version: number }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const payload = JSON.parse(body) as { type: string; data: { connection_id: string; version: number } };
        received.push({ id: String(req.headers['webhook-id']), type: payload.type, connectionId: payload.data.connection_id, version: payload.data.version });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const hooks = await newTenant('scale-out webhooks', ['connections:read', 'connections:write', 'credentials:write', 'webhooks:read', 'webhooks:write']);
      const endpoint = await send('/v1/webhook-endpoints', {
        apiKey: hooks.apiKey,
        method: 'POST',
        body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, event_types: ['connection.created', 'connection.updated'] }),
      });
      expect(endpoint.status, endpoint.text).toBe(201);
      registerSecret(endpoint.json.signing_secret, 'the webhook signing secret of the scale-out test');
      const CONNECTIONS = 6;
      const UPDATES = 4;
      const writtenOn = new Set<string>();
      const ids = await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          const created = await send('/v1/connections', { apiKey: hooks.apiKey, method: 'POST', body: JSON.stringify(buildConnection()) });
          expect(created.status, created.text).toBe(201);
          writtenOn.add(created.backend ?? '');
          for (let p = 1; p <= UPDATES; p++) {
            const patched = await send(`/v1/connections/${created.json.id}`, { apiKey: hooks.apiKey, method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ priority: p }) });
            expect(patched.status, patched.text).toBe(200);
            writtenOn.add(patched.backend ?? '');
          }
          return created.json.id as string;
        }),
      );
      expect([...writtenOn].sort()).toEqual(['one', 'three', 'two']);
      const events = CONNECTIONS * (1 + UPDATES);
      // Every delivery succeeded (each process's worker claims with SKIP LOCKED and a lease) ...
      const deadline = Date.now() + 30_000;
      const pending = async () => Number((await sql.query("SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'succeeded'", [endpoint.json.id])).rows[0].count);
      while ((await pending()) > 0 && Date.now() < deadline) await sleep(200);
      expect(await pending()).toBe(0);
      const attempts = await sql.query('SELECT count(*)::int AS n FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = $1', [endpoint.json.id]);
      // ... with one attempt each: no delivery was sent by two processes.
      expect(attempts.rows[0].n).toBe(events);
      expect(received).toHaveLength(events);
      expect(new Set(received.map((r) => r.id)).size).toBe(events);
      // In order per connection: created (version 1), then its updates.
      for (const id of ids) {
        expect(received.filter((r) => r.connectionId === id).map((r) => r.version)).toEqual(Array.from({ length: 1 + UPDATES }, (_, i) => i + 1));
      }
      figures.push(`webhooks: ${events} events from writes through all three processes, each delivered once (one attempt each, ${new Set(received.map((r) => r.id)).size} distinct webhook-ids), in order per connection`);
    } finally {
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  }, 60_000);

  it('when the master key is rotated while writers patch credentials on every process, then every record opens under the new version alone to its last acknowledged write, read on another process', async () => {
    const WRITERS = 3;
    let writing = true;
    const counts = { acknowledged: 0, failed: [] as string[], on: new Set<string>() };
    /** The fingerprint each connection's last acknowledged PATCH answered, and the process that answered it. */
    const lastFingerprint = new Map<string, { fingerprint: string; backend: string }>();
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const mine = ids.filter((_, i) => i % WRITERS === w);
      for (let n = 0; writing; n++) {
        const id = mine[n % mine.length]!;
        const secret = stripeSecret();
        const answer = await patchSecret(id, secret).catch((error: Error) => ({ status: 0, text: error.message }) as Answer);
        if (answer.status === 200) {
          acknowledged.set(id, secret);
          lastFingerprint.set(id, { fingerprint: answer.json.credentials_summary.secret_key.fingerprint, backend: answer.backend ?? '' });
          counts.acknowledged++;
          counts.on.add(answer.backend ?? '');
        } else {
          counts.failed.push(`${answer.status} ${answer.text}`);
        }
      }
    });
    let state: { id: string; status: string; records_total: number; records_rewrapped: number; min_decryption_version: number } | undefined;
    const pollers = new Set<string>();
    let seconds = 0;
    let started: Answer | undefined;
    try {
      await sleep(300);
      const t0 = performance.now();
      started = await admin('/admin/v1/key-rotations', { method: 'POST', body: JSON.stringify({ batch_size: 6, batch_delay_ms: 100 }) });
      state = ok(started);
      expect(state).toMatchObject({ status: 'running', target_version: 2 });
      while (state!.status === 'running') {
        await sleep(150);
        const polled = await admin(`/admin/v1/key-rotations/${started.json.id}`);
        pollers.add(polled.backend ?? '');
        state = ok(polled);
      }
      seconds = (performance.now() - t0) / 1000;
      await sleep(200); // writes after the rotation, under version 2 alone
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    expect(state).toMatchObject({ status: 'succeeded', target_version: 2, min_decryption_version: 2, error: null });
    expect(counts.failed).toEqual([]);
    expect([...counts.on].sort()).toEqual(['one', 'three', 'two']);

    // No record is left under version 1, and each opens under version 2 alone to its last acknowledged secret.
    const rows = await sql.query('SELECT id, tenant_id, credentials_ciphertext, credentials_key, credentials_key_version FROM connections WHERE id = ANY($1) ORDER BY id', [ids]);
    expect(rows.rows).toHaveLength(RECORDS);
    expect((await sql.query('SELECT count(*)::int AS n FROM connections WHERE credentials_key_version <> 2')).rows[0].n).toBe(0);
    for (const row of rows.rows) expect(openRow(row, K2).secret_key, row.id).toBe(acknowledged.get(row.id));

    // Through the API, on a process other than the one that acknowledged the last write: the
    // fingerprint of that write; and a merge (which decrypts the record) succeeds there.
    for (const id of ids) {
      const last = lastFingerprint.get(id);
      const other = backends.find((b) => b.name !== last?.backend)!;
      const got = await send(`/v1/connections/${id}`, { base: other.server!.url });
      expect(got.status).toBe(200);
      if (last) expect(got.json.credentials_summary.secret_key.fingerprint, id).toBe(last.fingerprint);
    }
    for (const b of backends) {
      const id = ids[backends.indexOf(b)]!;
      const merged = await send(`/v1/connections/${id}`, {
        base: b.server!.url,
        method: 'PATCH',
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: JSON.stringify({ credentials: { webhook_secret: stripeWebhookSecret() } }),
      });
      expect(merged.status, merged.text).toBe(200);
    }
    figures.push(
      `rotation: ${state!.records_rewrapped} of ${state!.records_total} records re-wrapped in ${seconds.toFixed(2)} s (started through ${started!.backend}, followed on ${[...pollers].sort().join(', ')}) beside ${counts.acknowledged} acknowledged PATCHes by ${WRITERS} writers on all three processes`,
    );
  }, 60_000);

  it('when one backend is killed with SIGKILL mid write-load, then every acknowledged write is there and every failed request is retried with its Idempotency-Key to one 201 and one connection', async () => {
    const CREATE_WRITERS = 4;
    interface SentCreate {
      key: string;
      body: ReturnType<typeof buildConnection>;
      answer?: Answer;
      /** Sent after the kill. */
      afterKill: boolean;
    }
    const creates: SentCreate[] = [];
    let killed = false;
    let stopping = false;
    const unexpected: string[] = [];
    const loop = async () => {
      while (!stopping) {
        const sent: SentCreate = { key: `kill-${randomUUID()}`, body: buildConnection({ name: `kill ${randomUUID()}` }), afterKill: killed };
        creates.push(sent);
        try {
          sent.answer = await send('/v1/connections', { method: 'POST', idempotencyKey: sent.key, body: JSON.stringify(sent.body) });
        } catch (error) {
          sent.answer = { status: 0, backend: null, headers: new Headers(), text: (error as Error).message, json: undefined };
        }
        if (sent.answer.status !== 201 && sent.answer.status < 500 && sent.answer.status !== 0) unexpected.push(`${sent.answer.status} ${sent.answer.text}`);
      }
    };
    const victim = backends[1]!;
    const ackedBy = (name: string, afterKill: boolean) => creates.filter((c) => c.answer?.status === 201 && c.answer.backend === name && c.afterKill === afterKill).length;
    /** Waits (at most 30 s) until `done`, however slow the machine; the test fails below if it never is. */
    const waitFor = async (done: () => boolean) => {
      const deadline = Date.now() + 30_000;
      while (!done() && Date.now() < deadline) await sleep(50);
    };
    const load = Promise.all(Array.from({ length: CREATE_WRITERS }, loop));
    // Mid-load: the victim has acknowledged writes of its own when it is killed.
    const t0 = performance.now();
    await waitFor(() => ackedBy(victim.name, false) >= 3);
    victim.server!.run.child.kill('SIGKILL');
    expect((await victim.server!.run.exit(10_000)).signal).toBe('SIGKILL');
    // From here on the process is gone: what is sent now cannot be answered by it.
    killed = true;
    // The load goes on on the two others while HAProxy takes the dead one out.
    await waitFor(() => backends.filter((b) => b !== victim).every((b) => ackedBy(b.name, true) >= 5));
    stopping = true;
    const seconds = (performance.now() - t0) / 1000;
    await load;
    expect(unexpected).toEqual([]);

    const acked = creates.filter((c) => c.answer?.status === 201);
    const failed = creates.filter((c) => c.answer?.status !== 201);
    const ackedAfterKill = acked.filter((c) => c.afterKill);
    expect(ackedBy(victim.name, false)).toBeGreaterThanOrEqual(3);
    for (const b of backends.filter((b) => b !== victim)) expect(ackedBy(b.name, true)).toBeGreaterThanOrEqual(5);
    // After the kill, the proxy answered from the two others only.
    expect(ackedAfterKill.filter((c) => c.answer!.backend === victim.name)).toEqual([]);

    // Every acknowledged create is there, as it was sent, read through the proxy.
    for (const sent of acked) {
      const got = await send(`/v1/connections/${sent.answer!.json.id}`);
      expect(got.status).toBe(200);
      expect(got.json.name).toBe(sent.body.name);
      expect(got.backend).not.toBe(victim.name);
    }
    // Every failed one (the proxy's 502 for a request the dead process had, or a reset) gets a
    // definite answer on retry: a replayed or a fresh 201, and exactly one connection.
    let replayed = 0;
    for (const sent of failed) {
      const answer = await retryToAnswer(sent.key, sent.body);
      expect(answer.status, answer.text).toBe(201);
      if (answer.headers.get('idempotent-replayed') === 'true') replayed++;
      const rows = await sql.query('SELECT id FROM connections WHERE reference = $1', [sent.body.reference]);
      expect(rows.rows.map((r) => r.id)).toEqual([answer.json.id]);
    }
    // No duplicates: one connection per create ever sent.
    expect((await sql.query("SELECT count(*)::int AS n FROM connections WHERE name LIKE 'kill %'")).rows[0].n).toBe(creates.length);
    figures.push(
      `writes under kill: ${acked.length} creates acknowledged by ${CREATE_WRITERS} writers in ${seconds.toFixed(1)} s (${acked.filter((c) => c.answer!.backend === victim.name).length} by the killed process, ${ackedAfterKill.length} after the SIGKILL), all there; ` +
        `${failed.length} failed at the kill (${failed.map((c) => c.answer!.status).join(', ') || 'none'}), each retried with its Idempotency-Key to one 201 (${replayed} replayed) and one connection`,
    );
  }, 60_000);

});
