/** Credentials at rest, on both stores: after connections are created (one through
 * Idempotency-Key, so an idempotency row is written), patched, rotated and archived, and an
 * API key is issued, no secret and no API key is in what the store keeps. PostgreSQL: every
 * row of every table, read over SQL. PGlite: every file of the data directory, read as bytes
 * once its server has stopped. Each check also finds what must be there (ids, the
 * idempotency key), so it cannot pass by reading the wrong thing. */
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MASTER_KEY } from '../support/global-setup.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { makeTarget, serverTargets, type Target } from '../support/targets.js';
import { createConnection, secretValue, stripeSecret, stripeWebhookSecret, tenant } from './factories.js';

/** Writes secrets through every path that stores them; returns the secrets and what must be stored. */
async function writeSecrets(target: Target) {
  const { client, apiKey, keyId, tenantId } = await tenant(target);
  const secrets = [apiKey, stripeSecret(), stripeWebhookSecret(), secretValue('RAWROWSECRET'), secretValue('pw-', 18)];
  const idempotencyKey = `idem-at-rest-${randomUUID()}`;
  const body = { provider: 'stripe', reference: `at-rest-${randomUUID()}`, credentials: { secret_key: secrets[1]!, webhook_secret: secrets[2]! } } as const;
  const first = await client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body });
  expect(first.response.status, JSON.stringify(first.error)).toBe(201);
  const replay = await client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body });
  expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
  const stripe = first.data!;
  const generic = await createConnection(client, { provider: 'generic', credentials: { token: secrets[3]!, password: secrets[4]! } });
  // A PATCH and a rotation write the sealed columns again.
  const rotated = stripeSecret();
  secrets.push(rotated);
  const patched = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: stripe.id } }, body: { credentials: { webhook_secret: null } } });
  expect(patched.response.status).toBe(200);
  const rotation = await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: stripe.id } }, body: { credentials: { secret_key: rotated } } });
  expect(rotation.response.status).toBe(200);
  const archived = await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: generic.id } } });
  expect(archived.response.status).toBe(200);
  return { secrets, stored: [stripe.id, generic.id, keyId, tenantId, idempotencyKey], stripe, generic, idempotencyKey };
}

/** Where each of `needles` occurs in `haystacks`, as utf8 text or as hex (bytea printed as text). */
function occurrences(haystacks: { name: string; bytes: Buffer }[], needle: string): string[] {
  const forms = [Buffer.from(needle, 'utf8'), Buffer.from(Buffer.from(needle, 'utf8').toString('hex'), 'utf8')];
  return haystacks.filter(({ bytes }) => forms.some((form) => bytes.includes(form))).map(({ name }) => name);
}

const masked = (secret: string) => `${secret.slice(0, 6)}…`;

describe('credentials at rest on the server on PGlite (its data directory read as bytes)', () => {
  let server: RunningServer | undefined;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'patchbay-at-rest-'));
    // A server of its own: the shared one cannot be stopped, and PGlite's files are only complete once it has.
    server = await startServer({ store: 'pglite' }, { PATCHBAY_ADMIN_KEY: inject('adminKey'), PATCHBAY_MASTER_KEY: MASTER_KEY }, { dataDir });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('when secrets are written through create (with Idempotency-Key), patch, rotation and archive, and an API key is issued, then no file holds a secret or the key, and the files hold the ids and the idempotency key', async () => {
    const { secrets, stored } = await writeSecrets(makeTarget('server on PGlite (at rest)', 'server', server!.url));
    await server!.stop();
    const files = (readdirSync(dataDir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const path = join(entry.parentPath, entry.name);
        return { name: path.slice(dataDir.length + 1), bytes: readFileSync(path) };
      });
    expect(files.length).toBeGreaterThan(10);
    for (const value of stored) expect(occurrences(files, value), `${value} is nowhere in the data directory: the check reads the wrong files`).not.toEqual([]);
    for (const secret of secrets) expect(occurrences(files, secret), `secret ${masked(secret)} found at rest`).toEqual([]);
  });
});

const pgTarget = serverTargets().find((t) => t.name === 'server on PostgreSQL')!;

/** Every row of every table of the public schema, each column as text, plus bytea as utf8 and hex. */
async function dumpDatabase(client: pg.Client): Promise<{ name: string; bytes: Buffer }[]> {
  const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'");
  const cells: { name: string; bytes: Buffer }[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await client.query(`select * from "${table_name.replaceAll('"', '""')}"`);
    for (const row of rows.rows as Record<string, unknown>[]) {
      for (const [column, value] of Object.entries(row)) {
        if (value === null || value === undefined) continue;
        const name = `${table_name}.${column}`;
        if (Buffer.isBuffer(value)) cells.push({ name, bytes: value });
        else cells.push({ name, bytes: Buffer.from(typeof value === 'object' && !(value instanceof Date) ? JSON.stringify(value) : String(value), 'utf8') });
      }
    }
  }
  return cells;
}

(pgTarget.unavailable ? describe.skip : describe)(`credentials at rest on the server on PostgreSQL (every row of every table)${pgTarget.unavailable ? ` (SKIPPED: ${pgTarget.unavailable})` : ''}`, () => {
  let db: pg.Client;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: inject('postgresDatabaseUrl')! });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
  });

  it('when secrets are written through create (with Idempotency-Key), patch, rotation and archive, and an API key is issued, then no column holds a secret or the key in text, jsonb or bytea, and the sealed columns are set; after archive they are null', async () => {
    const { secrets, stored, stripe, generic, idempotencyKey } = await writeSecrets(pgTarget);
    const cells = await dumpDatabase(db);
    for (const value of stored) expect(occurrences(cells, value), `${value} is in no row: the check reads the wrong database`).not.toEqual([]);
    expect(occurrences(cells, idempotencyKey).some((where) => where.startsWith('idempotency_keys.'))).toBe(true);
    for (const secret of secrets) expect(occurrences(cells, secret), `secret ${masked(secret)} found at rest`).toEqual([]);

    const sealed = await db.query('select id, credentials_ciphertext, credentials_key, credentials_key_version from connections where id = $1', [stripe.id]);
    expect(sealed.rows).toHaveLength(1);
    expect(Buffer.isBuffer(sealed.rows[0].credentials_ciphertext) && sealed.rows[0].credentials_ciphertext.length > 0).toBe(true);
    expect(Buffer.isBuffer(sealed.rows[0].credentials_key) && sealed.rows[0].credentials_key.length > 0).toBe(true);
    expect(sealed.rows[0].credentials_key_version).not.toBeNull();
    const archived = await db.query('select credentials_ciphertext, credentials_key, credentials_key_version, credentials_summary from connections where id = $1', [generic.id]);
    expect(archived.rows[0]).toEqual({ credentials_ciphertext: null, credentials_key: null, credentials_key_version: null, credentials_summary: {} });
  });
});
