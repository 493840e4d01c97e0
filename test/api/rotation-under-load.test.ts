/** Key management (issue 12, decision 0021) on PostgreSQL: a wrong or missing key stops the
 * server naming the version, never the key; a rotation runs while writers PATCH credentials,
 * and afterwards every connection decrypts to its last acknowledged write and none is under
 * the old version (read from the rows and opened here with the new key); the old key is then
 * retired and the server starts without it; fingerprints survive; a record that does not open
 * is a 500 credentials_undecryptable; the rotate-keys command rotates again with its progress bar.
 * A server killed mid-rotation leaves the job to the next one, which resumes it once the lease lapses. */
import { spawn } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnection, secretValue, stripeSecret } from './factories.js';
import { serverMain } from '../support/paths.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { spawnServer, startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const key = (label: string) => registerSecret(randomBytes(32).toString('base64'), `a master key of rotation-under-load (${label})`);
const K1 = key('v1');
const K2 = key('v2');
const K3 = key('v3');
const K4 = key('v4');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of rotation-under-load');
/** Records to re-wrap, and how many writers PATCH them while the rotation runs (sized for 2 cores). */
const RECORDS = 90;
const WRITERS = 4;

async function json(response: Response) {
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return response.json();
}

/** Opens a row's credentials the way the server does (AES-256-GCM, 12-byte IV | 16-byte tag | body), with the given KEK. */
function openRow(row: { id: string; tenant_id: string; credentials_ciphertext: Buffer; credentials_key: Buffer }, kekBase64: string): Record<string, string> {
  const aad = Buffer.from(`${row.tenant_id}/${row.id}`);
  const open = (keyBytes: Buffer, blob: Buffer) => {
    const decipher = createDecipheriv('aes-256-gcm', keyBytes, blob.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
  };
  const dataKey = open(Buffer.from(kekBase64, 'base64'), row.credentials_key);
  return JSON.parse(open(dataKey, row.credentials_ciphertext).toString('utf8')) as Record<string, string>;
}

describe('key ring and rotation under load on PostgreSQL', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let server: RunningServer | undefined;
  let tenantKey = '';
  const ids: string[] = [];
  /** The last acknowledged secret_key of each connection. */
  const acknowledged = new Map<string, string>();
  const admin = (init: RequestInit = {}) => ({ ...init, headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const tenantInit = (init: RequestInit = {}) => ({ ...init, headers: { 'X-Api-Key': tenantKey, ...(init.headers ?? {}) } });
  const env = (current: string, previous?: string) => ({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: current, PATCHBAY_MASTER_KEYS_PREVIOUS: previous });
  const start = async (current: string, previous?: string) => {
    server = await startServer({ store: 'postgres', databaseUrl: db.url }, env(current, previous));
    return server;
  };
  const stop = async () => {
    await server?.stop();
    server = undefined;
  };
  const patchSecret = (base: string, id: string, secret: string) =>
    fetch(`${base}/v1/connections/${id}`, tenantInit({ method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ credentials: { secret_key: secret } }) }));

  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) throw new Error(`these tests need PostgreSQL: ${made.unavailable}`);
    db = made;
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const { url } = await start(`v1:${K1}`);
    const tenant = await json(await fetch(`${url}/admin/v1/tenants`, admin({ method: 'POST', body: JSON.stringify({ name: 'rotation under load' }) })));
    const issued = await json(
      await fetch(`${url}/admin/v1/tenants/${tenant.id}/api-keys`, admin({ method: 'POST', body: JSON.stringify({ name: 'writer', scopes: ['connections:read', 'connections:write', 'credentials:write'] }) })),
    );
    tenantKey = registerSecret(issued.api_key, 'the tenant key of rotation-under-load');
    for (let i = 0; i < RECORDS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, RECORDS - i) }, async () => {
          const body = buildConnection();
          const created = await json(await fetch(`${url}/v1/connections`, tenantInit({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })));
          acknowledged.set(created.id, (body.credentials as { secret_key: string }).secret_key);
          return created.id as string;
        }),
      );
      ids.push(...batch);
    }
    await stop();
  }, 180_000);

  afterAll(async () => {
    await stop();
    await sql?.end();
    await db?.drop();
  });

  it('when the key given for a version is not the one that encrypted the records, then the server refuses to start, naming the version and never the key', async () => {
    const wrong = key('wrong v1');
    const run = spawnServer({ DATABASE_URL: db.url, ...env(`v1:${wrong}`) });
    expect((await run.exit()).code).toBe(78);
    expect(run.output()).toMatch(/key configured as version 1 does not match the key-check value stored for version 1/);
    expect(run.output()).not.toContain(wrong);
    expect(run.output()).not.toContain(K1);
  });

  it('when a version the records use is not configured, then the server refuses to start, naming it and where to give it', async () => {
    const run = spawnServer({ DATABASE_URL: db.url, ...env(`v2:${K2}`) });
    expect((await run.exit()).code).toBe(78);
    expect(run.output()).toMatch(/encrypted under key version 1, which is not configured: give it in PATCHBAY_MASTER_KEYS_PREVIOUS/);
    expect(run.output()).not.toContain(K2);
  });

  it('when the key is rotated while writers patch credentials, then afterwards every connection opens under the new version alone to its last acknowledged write, and the old key is retired', async () => {
    const untouched = ids[0]!;
    const { url } = await start(`v2:${K2}`, `v1:${K1}`);
    const before = await json(await fetch(`${url}/v1/connections/${untouched}`, tenantInit()));

    // Writers: each owns a slice of the connections (ids[0] stays untouched), patching their
    // secret one after another; a 200 is an acknowledged write.
    let writing = true;
    const counts = { acknowledged: 0, failed: [] as string[] };
    const writers = Array.from({ length: WRITERS }, async (_, w) => {
      const mine = ids.slice(1).filter((_, i) => i % WRITERS === w);
      for (let n = 0; writing; n++) {
        const id = mine[n % mine.length]!;
        const secret = stripeSecret();
        const response = await patchSecret(url, id, secret).catch((error: Error) => ({ status: 0, text: async () => error.message }));
        if (response.status === 200) {
          acknowledged.set(id, secret);
          counts.acknowledged++;
        } else {
          counts.failed.push(`${response.status} ${await response.text()}`);
        }
      }
    });
    let state: { id: string; status: string; records_total: number; records_rewrapped: number } | undefined;
    const progress: number[] = [];
    let seconds = 0;
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const started = performance.now();
      const rotation = await json(await fetch(`${url}/admin/v1/key-rotations`, admin({ method: 'POST', body: JSON.stringify({ batch_size: 10, batch_delay_ms: 100 }) })));
      // Records the writers re-sealed before it started are under version 2 already, so how many
      // are left to re-wrap depends on timing (23 of 90 was seen in CI): some must be. What the
      // rotation must achieve is checked below on every record, whatever wrapped it.
      expect(rotation).toMatchObject({ status: 'running', target_version: 2, retire_previous: true });
      expect(rotation.records_total).toBeGreaterThan(0);
      state = rotation;
      while (state!.status === 'running') {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await json(await fetch(`${url}/admin/v1/key-rotations/${rotation.id}`, admin()));
        progress.push(state!.records_rewrapped);
      }
      seconds = (performance.now() - started) / 1000;
      await new Promise((resolve) => setTimeout(resolve, 300)); // writes after the rotation, under version 2 alone
    } finally {
      writing = false;
      await Promise.all(writers);
    }
    console.log(
      `rotation under load: ${state!.records_rewrapped} of ${state!.records_total} records re-wrapped in ${seconds.toFixed(2)} s (batches of 10, 100 ms apart) beside ${counts.acknowledged} acknowledged PATCHes by ${WRITERS} writers`,
    );
    expect(state).toMatchObject({ status: 'succeeded', target_version: 2, min_decryption_version: 2, error: null });
    expect(counts.failed).toEqual([]);
    // The writers ran during the rotation: progress was seen between its start and its end.
    expect(progress.some((n) => n > 0 && n < state!.records_total)).toBe(true);
    expect(state!.records_rewrapped).toBeGreaterThan(0);
    expect(state!.records_rewrapped).toBeLessThanOrEqual(state!.records_total);

    const rows = await sql.query('SELECT id, tenant_id, credentials_ciphertext, credentials_key, credentials_key_version FROM connections ORDER BY id');
    expect(rows.rows).toHaveLength(RECORDS);
    expect(rows.rows.filter((r) => r.credentials_key_version !== 2)).toEqual([]);
    for (const row of rows.rows) expect(openRow(row, K2).secret_key, row.id).toBe(acknowledged.get(row.id));
    expect(() => openRow(rows.rows[0], K1)).toThrow();
    expect((await sql.query('SELECT min_decryption_version, fingerprint_key_version FROM key_ring')).rows[0]).toEqual({ min_decryption_version: 2, fingerprint_key_version: 2 });

    // Fingerprints have a key of their own: the untouched connection's did not change.
    const after = await json(await fetch(`${url}/v1/connections/${untouched}`, tenantInit()));
    expect(after.credentials_summary.secret_key.fingerprint).toBe(before.credentials_summary.secret_key.fingerprint);
    expect(after.version).toBe(before.version);
    await stop();

    // Retired: the server starts without version 1, and a merge (which decrypts) works.
    const retired = await start(`v2:${K2}`);
    const ready = await json(await fetch(`${retired.url}/readyz`));
    expect(ready).toEqual({ status: 'ok', checks: { database: 'ok', keys: 'ok' } });
    const secret = stripeSecret();
    const merged = await json(
      await fetch(`${retired.url}/v1/connections/${untouched}`, tenantInit({ method: 'PATCH', headers: { 'Content-Type': 'application/merge-patch+json' }, body: JSON.stringify({ credentials: { webhook_secret: secretValue('whsec_') } }) })),
    );
    expect(Object.keys(merged.credentials_summary).sort()).toEqual(['secret_key', 'webhook_secret']);
    expect(merged.credentials_summary.secret_key.fingerprint).toBe(before.credentials_summary.secret_key.fingerprint);
    expect((await patchSecret(retired.url, untouched, secret)).status).toBe(200);
    await stop();
  }, 120_000);

  it('when a record does not open under its key, then a merge answers 500 credentials_undecryptable naming the version, and the log holds no value', async () => {
    const victim = ids[1]!;
    // One flipped bit in the wrapped data key: the GCM tag no longer holds.
    const stored = (await sql.query('SELECT credentials_key FROM connections WHERE id = $1', [victim])).rows[0].credentials_key as Buffer;
    stored[40] = stored[40]! ^ 1;
    await sql.query('UPDATE connections SET credentials_key = $2 WHERE id = $1', [victim, stored]);
    const { url, output } = await start(`v2:${K2}`);
    const response = await patchSecret(url, victim, stripeSecret());
    const problem = await response.json();
    expect(response.status).toBe(500);
    expect(problem).toMatchObject({ code: 'credentials_undecryptable', status: 500 });
    expect(problem.detail).toContain('key version 2');
    expect(output()).not.toContain(acknowledged.get(victim)!);
    // Its neighbours are not affected; the read path (no decryption) still answers.
    expect((await fetch(`${url}/v1/connections/${victim}`, tenantInit())).status).toBe(200);
    await stop();
    await sql.query('DELETE FROM connection_events WHERE connection_id = $1', [victim]);
    await sql.query('DELETE FROM connections WHERE id = $1', [victim]);
  });

  it('when rotate-keys runs with a new current key, then it draws its progress and re-wraps every record under it', async () => {
    const cli = spawn(process.execPath, [join(dirname(serverMain), 'rotate-keys.js'), '--batch-size=25'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, PATCHBAY_MASTER_KEY: `v3:${K3}`, PATCHBAY_MASTER_KEYS_PREVIOUS: `v2:${K2}`, PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_DATA_DIR: tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    cli.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    cli.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => cli.once('close', resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/\[#{30}\] 100%/);
    expect(output).toMatch(new RegExp(`rotation krot_\\w+ succeeded: ${RECORDS - 1} records re-wrapped under key version 3`));
    expect(output).not.toContain(K3);
    const left = await sql.query('SELECT count(*)::int AS n FROM connections WHERE credentials_key_version <> 3');
    expect(left.rows[0].n).toBe(0);
  });

  it('when the server running a rotation is killed mid-way, then a restarted server resumes it from its last batch once the lease lapses, and it succeeds', async () => {
    const first = await start(`v4:${K4}`, `v3:${K3}`);
    const rotation = await json(await fetch(`${first.url}/admin/v1/key-rotations`, admin({ method: 'POST', body: JSON.stringify({ batch_size: 5, batch_delay_ms: 400 }) })));
    let seen = rotation;
    while (seen.records_rewrapped === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      seen = await json(await fetch(`${first.url}/admin/v1/key-rotations/${rotation.id}`, admin()));
    }
    first.run.child.kill('SIGKILL');
    await first.stop();
    server = undefined;
    const atKill = (await sql.query('SELECT records_rewrapped, status FROM key_rotations WHERE id = $1', [rotation.id])).rows[0];
    expect(atKill.status).toBe('running');
    expect(atKill.records_rewrapped).toBeLessThan(rotation.records_total);

    const second = await start(`v4:${K4}`, `v3:${K3}`);
    const started = performance.now();
    let state = await json(await fetch(`${second.url}/admin/v1/key-rotations/${rotation.id}`, admin()));
    while (state.status === 'running' && performance.now() - started < 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = await json(await fetch(`${second.url}/admin/v1/key-rotations/${rotation.id}`, admin()));
    }
    console.log(`rotation resumed after SIGKILL at ${atKill.records_rewrapped}/${rotation.records_total}: finished ${((performance.now() - started) / 1000).toFixed(1)} s after the restart`);
    // Each committed batch counted once: the batch in flight at the kill rolled back and was done again.
    expect(state).toMatchObject({ status: 'succeeded', records_rewrapped: rotation.records_total, min_decryption_version: 4 });
    const left = await sql.query('SELECT count(*)::int AS n FROM connections WHERE credentials_key_version <> 4');
    expect(left.rows[0].n).toBe(0);
    await stop();
  }, 120_000);
});
