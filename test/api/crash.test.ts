/**
 * Crash (issue 12): the server is killed with SIGKILL under write load on PostgreSQL and
 * restarted on the same database. Every acknowledged write is there, and every
 * Idempotency-Key whose request was in flight at the kill can be retried to a definite
 * answer — its stored 201 replayed, or a fresh 201 — with exactly one connection per key.
 * Also on that database: a holder whose lease lapsed cannot commit beside the retry that took
 * its key over, and the sweeper deletes expired keys after the restart.
 * Prints the writes under kill. One server at a time, a few writers: sized for 2 cores.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { stripeSecret } from './factories.js';

const MASTER_KEY = Buffer.alloc(32, 37).toString('base64');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of the crash test');
/** Short, so that the retries after the kill wait little for the dead holders' leases. */
const LEASE_MS = 2_000;
const CREATE_WRITERS = 4;
const PATCH_WRITERS = 2;
/** How long the load runs before the kill. */
const LOAD_MS = 2_500;

interface SentCreate {
  key: string;
  body: Record<string, unknown>;
  /** The id of the acknowledged 201, or undefined while no answer came. */
  id?: string;
  answered: boolean;
}

interface PatchWriter {
  id: string;
  /** The last acknowledged PATCH: the name it set and the version it answered. */
  acked: { name: string; version: number } | null;
  /** The name of the PATCH that was sent and not answered (the kill), if any. */
  unanswered: string | null;
}

describe('crash: SIGKILL under write load on PostgreSQL, then a restart on the same database', () => {
  let db: TestDatabase;
  let server: RunningServer | undefined;
  let apiKey = '';
  const env = { PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, PATCHBAY_IDEMPOTENCY_LEASE_MS: String(LEASE_MS) };
  const start = () => startServer({ store: 'postgres', databaseUrl: db.url }, env);
  const tenantCall = (path: string, init: RequestInit & { key?: string } = {}) =>
    fetch(`${server!.url}${path}`, {
      ...init,
      headers: { 'X-Api-Key': apiKey, 'Content-Type': 'application/json', ...(init.key ? { 'Idempotency-Key': init.key } : {}), ...(init.headers ?? {}) },
    });
  const sql = async <T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) throw new Error(`the crash test needs PostgreSQL: ${made.unavailable}`);
    db = made;
    server = await start();
    const admin = { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' };
    const tenant = await (await fetch(`${server.url}/admin/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'crash' }) })).json();
    const key = await (
      await fetch(`${server.url}/admin/v1/tenants/${tenant.id}/api-keys`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify({ name: 'writer', scopes: ['connections:read', 'connections:write', 'credentials:write'] }),
      })
    ).json();
    apiKey = registerSecret(key.api_key, 'the API key of the crash test');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
  });

  const newBody = () => ({ provider: 'stripe', reference: `crash-${randomUUID()}`, name: `crash ${randomUUID()}`, credentials: { secret_key: stripeSecret() } });

  /** How many live connections carry this (unique) name. */
  const connectionsNamed = async (name: string) => {
    const page = await (await tenantCall(`/v1/connections?q=${encodeURIComponent(name)}&include_total=true&limit=5`)).json();
    return page.data as { id: string; name: string }[];
  };

  /** Retries one request until it is answered with something other than a 409 (or time runs out). */
  async function retryToAnswer(sent: SentCreate): Promise<Response> {
    const deadline = Date.now() + LEASE_MS + 20_000;
    for (;;) {
      const answer = await tenantCall('/v1/connections', { method: 'POST', key: sent.key, body: JSON.stringify(sent.body) });
      if (answer.status !== 409 || Date.now() > deadline) return answer;
      expect(answer.headers.get('retry-after')).toBe('1');
      await answer.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('when the server is killed mid-load and restarted, then every acknowledged write is there and every key in flight is retried to one 201 and one connection', async () => {
    // Connections the PATCH writers rename, one each, so each one's last acknowledged name is known.
    const patchWriters: PatchWriter[] = [];
    for (let i = 0; i < PATCH_WRITERS; i++) {
      const created = await tenantCall('/v1/connections', { method: 'POST', body: JSON.stringify(newBody()) });
      expect(created.status).toBe(201);
      patchWriters.push({ id: (await created.json()).id, acked: null, unanswered: null });
    }

    const creates: SentCreate[] = [];
    let killed = false;
    const unexpected: string[] = [];
    const createLoop = async () => {
      while (!killed) {
        const sent: SentCreate = { key: `crash-${randomUUID()}`, body: newBody(), answered: false };
        creates.push(sent);
        try {
          const answer = await tenantCall('/v1/connections', { method: 'POST', key: sent.key, body: JSON.stringify(sent.body) });
          const text = await answer.text();
          sent.answered = true;
          if (answer.status === 201) sent.id = JSON.parse(text).id;
          else unexpected.push(`POST ${answer.status} ${text}`);
        } catch {
          return; // the connection died with the server: this key is in flight at the kill
        }
      }
    };
    const patchLoop = async (writer: PatchWriter) => {
      for (let i = 1; !killed; i++) {
        const name = `renamed ${i}`;
        writer.unanswered = name;
        try {
          const answer = await tenantCall(`/v1/connections/${writer.id}`, { method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ name }) });
          const text = await answer.text();
          if (answer.status !== 200) {
            unexpected.push(`PATCH ${answer.status} ${text}`);
            return;
          }
          writer.acked = { name, version: JSON.parse(text).version };
          writer.unanswered = null;
        } catch {
          return;
        }
      }
    };

    const load = Promise.all([...Array.from({ length: CREATE_WRITERS }, createLoop), ...patchWriters.map(patchLoop)]);
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
    killed = true;
    server!.run.child.kill('SIGKILL');
    const exited = await server!.run.exit(10_000);
    expect(exited.signal).toBe('SIGKILL');
    await load;
    expect(unexpected).toEqual([]);

    const acked = creates.filter((c) => c.id !== undefined);
    const inFlight = creates.filter((c) => !c.answered);
    expect(acked.length).toBeGreaterThan(0);
    expect(inFlight.length).toBeGreaterThan(0);

    await server!.stop();
    server = await start();

    // Every acknowledged create is there, as it was sent.
    for (const sent of acked) {
      const got = await tenantCall(`/v1/connections/${sent.id}`);
      expect(got.status).toBe(200);
      expect((await got.json()).name).toBe(sent.body.name);
    }
    // Every acknowledged PATCH is there: the name is the last acknowledged one, or the one
    // sent after it that the kill left unanswered (committed or not, never anything older).
    for (const writer of patchWriters) {
      const got = await (await tenantCall(`/v1/connections/${writer.id}`)).json();
      const allowed = [writer.acked?.name, writer.unanswered].filter(Boolean);
      expect(allowed).toContain(got.name);
      if (writer.acked) expect(got.version).toBeGreaterThanOrEqual(writer.acked.version);
    }

    // Every key in flight at the kill gets a definite answer: a replayed or a fresh 201, and
    // exactly one connection carries its request's name.
    let replayed = 0;
    let fresh = 0;
    for (const sent of inFlight) {
      const answer = await retryToAnswer(sent);
      const text = await answer.text();
      expect(answer.status, text).toBe(201);
      if (answer.headers.get('idempotent-replayed') === 'true') replayed++;
      else fresh++;
      const named = await connectionsNamed(sent.body.name as string);
      expect(named.map((c) => c.id)).toEqual([JSON.parse(text).id]);
    }
    // And an acknowledged key replays its own 201, creating nothing.
    for (const sent of acked.slice(0, 5)) {
      const answer = await tenantCall('/v1/connections', { method: 'POST', key: sent.key, body: JSON.stringify(sent.body) });
      expect(answer.status).toBe(201);
      expect(answer.headers.get('idempotent-replayed')).toBe('true');
      expect((await answer.json()).id).toBe(sent.id);
    }
    // No duplicates anywhere: one connection per key that was ever answered 201, plus the PATCH writers' own.
    const [{ count } = { count: '' }] = await sql<{ count: string }>("SELECT count(*) FROM connections WHERE name LIKE 'crash %'");
    expect(Number(count)).toBe(acked.length + inFlight.length);

    const patches = patchWriters.reduce((n, w) => n + (w.acked ? w.acked.version - 1 : 0), 0);
    console.log(
      `crash: writes under kill — ${acked.length} creates and ${patches} PATCHes acknowledged in ${LOAD_MS} ms by ${CREATE_WRITERS + PATCH_WRITERS} writers, all there after the restart; ` +
        `${inFlight.length} Idempotency-Keys in flight at the SIGKILL, each retried to one 201 (${replayed} replayed, ${fresh} fresh) and one connection`,
    );
  }, 120_000);

  it('when a holder outlives its lease and a retry takes its key over, then exactly one of them commits and the key replays that one', async () => {
    const body = newBody();
    const key = `lease-${randomUUID()}`;
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    let locked = false;
    try {
      await locker.query('BEGIN');
      // Blocks every INSERT into connections, not the claims in idempotency_keys.
      await locker.query('LOCK TABLE connections IN SHARE ROW EXCLUSIVE MODE');
      locked = true;
      const tokenOf = async () => (await locker.query<{ claim_token: string | null }>('SELECT claim_token FROM idempotency_keys WHERE key = $1', [key])).rows[0]?.claim_token;
      const first = tenantCall('/v1/connections', { method: 'POST', key, body: JSON.stringify(body) });
      await expect.poll(tokenOf, { timeout: 30_000, interval: 20 }).toBeTruthy();
      const firstToken = await tokenOf();
      // While the lease holds, the same request is a 409; once it has lapsed, a retry takes the key over.
      const early = await tenantCall('/v1/connections', { method: 'POST', key, body: JSON.stringify(body) });
      expect(early.status).toBe(409);
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 200));
      const second = tenantCall('/v1/connections', { method: 'POST', key, body: JSON.stringify(body) });
      await expect.poll(tokenOf, { timeout: 30_000, interval: 20 }).not.toBe(firstToken);

      await locker.query('ROLLBACK');
      locked = false;
      const answers = await Promise.all([first, second]);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([201, 409]);
      const winner = await answers.find((a) => a.status === 201)!.json();
      expect((await connectionsNamed(body.name)).map((c) => c.id)).toEqual([winner.id]);
      const again = await tenantCall('/v1/connections', { method: 'POST', key, body: JSON.stringify(body) });
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect((await again.json()).id).toBe(winner.id);
    } finally {
      if (locked) await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
  }, 60_000);

  it('when keys have expired, then the sweeper deletes them after a restart, and keeps the live ones', async () => {
    const live = `live-${randomUUID()}`;
    const body = newBody();
    expect((await tenantCall('/v1/connections', { method: 'POST', key: live, body: JSON.stringify(body) })).status).toBe(201);
    const expired = Array.from({ length: 3 }, () => `expired-${randomUUID()}`);
    for (const key of expired) {
      await sql(
        `INSERT INTO idempotency_keys (tenant_id, key, operation, request_hash, state, response_status, response_headers, response_body, created_at)
         VALUES ('ten_crash', $1, 'createConnection', 'x', 'done', 201, '{}', '{}', now() - interval '25 hours')`,
        [key],
      );
    }
    await server!.stop();
    server = await start();
    await expect
      .poll(async () => (await sql<{ count: string }>('SELECT count(*) FROM idempotency_keys WHERE key = ANY($1)', [expired]))[0]!.count, { timeout: 20_000, interval: 200 })
      .toBe('0');
    const replay = await tenantCall('/v1/connections', { method: 'POST', key: live, body: JSON.stringify(body) });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  }, 60_000);
});
