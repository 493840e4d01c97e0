/** Credentials at rest: no plaintext secret in any row of any table (PostgreSQL only: the
 * test reads the raw rows of the database the PostgreSQL server target writes to). */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { serverTargets } from '../support/targets.js';
import { createConnection, stripeSecret, stripeWebhookSecret, tenant, alnum } from './factories.js';

const databaseUrl = inject('postgresDatabaseUrl');
const pgTarget = serverTargets().find((t) => t.name === 'server on PostgreSQL');
const skipReason = !databaseUrl || !pgTarget ? `SKIPPED: no PostgreSQL for the raw-row check (${inject('postgresUnavailable') ?? 'no PostgreSQL server target'})` : null;

/** Every row of every table of the public schema, each column as text, plus bytea as utf8 and hex. */
async function dumpDatabase(client: pg.Client): Promise<string[]> {
  const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'");
  const cells: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await client.query(`select * from "${table_name.replaceAll('"', '""')}"`);
    for (const row of rows.rows as Record<string, unknown>[]) {
      for (const value of Object.values(row)) {
        if (value === null || value === undefined) continue;
        if (Buffer.isBuffer(value)) cells.push(value.toString('utf8'), value.toString('hex'), value.toString('latin1'));
        else if (typeof value === 'object') cells.push(JSON.stringify(value));
        else cells.push(String(value));
      }
    }
  }
  return cells;
}

describe.skipIf(skipReason !== null)(skipReason ?? 'credentials at rest on the server on PostgreSQL', () => {
  let db: pg.Client;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: databaseUrl! });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
  });

  it('when connections are created with distinctive secrets, then no table holds any secret in text, jsonb or bytea, and the sealed columns are set; after archive they are null', async () => {
    const { client } = await tenant(pgTarget!);
    const secrets = [stripeSecret(), stripeWebhookSecret(), `RAWROWSECRET${alnum(20)}`, `pw-${alnum(18)}`];
    const stripe = await createConnection(client, { credentials: { secret_key: secrets[0]!, webhook_secret: secrets[1]! } });
    const generic = await createConnection(client, { provider: 'generic', credentials: { token: secrets[2]!, password: secrets[3]! } });
    // A PATCH and a rotation write the sealed columns again.
    const rotated = stripeSecret();
    secrets.push(rotated);
    await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: stripe.id } }, body: { credentials: { webhook_secret: null } } });
    await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: stripe.id } }, body: { credentials: { secret_key: rotated } } });

    const cells = await dumpDatabase(db);
    expect(cells.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      const hex = Buffer.from(secret, 'utf8').toString('hex');
      expect(cells.filter((cell) => cell.includes(secret) || cell.includes(hex)), `secret ${secret.slice(0, 6)}... found at rest`).toEqual([]);
    }

    const sealed = await db.query('select id, credentials_ciphertext, credentials_key, credentials_key_version from connections where id = any($1)', [[stripe.id, generic.id]]);
    expect(sealed.rows).toHaveLength(2);
    for (const row of sealed.rows) {
      expect(Buffer.isBuffer(row.credentials_ciphertext) && row.credentials_ciphertext.length > 0).toBe(true);
      expect(Buffer.isBuffer(row.credentials_key) && row.credentials_key.length > 0).toBe(true);
      expect(row.credentials_key_version).not.toBeNull();
    }

    await client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: generic.id } } });
    const archived = await db.query('select credentials_ciphertext, credentials_key, credentials_key_version, credentials_summary from connections where id = $1', [generic.id]);
    expect(archived.rows[0]).toEqual({ credentials_ciphertext: null, credentials_key: null, credentials_key_version: null, credentials_summary: {} });
  });
});
