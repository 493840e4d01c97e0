/** last4 in a credentials summary (issue 12, decision 0027): only on a field the provider's
 * credentials_schema marks `x-patchbay-hint: last4`, only for a value of 12+ characters, null
 * otherwise; on the servers (both stores) and the stateful mock, through create, PATCH and the
 * credentials PUT. On PostgreSQL, a summary stored the old way (a last4 on any long value) is
 * put in with raw SQL: the API never shows its hint, and the migration scrubs it, in the
 * connection and in a stored idempotent reply. */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PatchbayClient } from '@patchbay/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MASTER_KEY } from '../support/global-setup.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { describeEach, makeTarget, serverTargets, statefulMockTarget } from '../support/targets.js';
import { expectNoSecrets, secretValue, tenant, uniqueRef, type Connection } from './factories.js';

const POS_SETTINGS = { base_url: 'https://pos.example.com/api' };
const VPOS_SETTINGS = { terminal_id: 'T1000042', store_id: '700655000200', bank_code: '0062' };

async function create(client: PatchbayClient, body: Record<string, unknown>): Promise<Connection> {
  const { response, data, error } = await client.POST('/v1/connections', { body: { reference: uniqueRef('hint'), ...body } as never });
  expect(response.status, JSON.stringify(error)).toBe(201);
  return data as Connection;
}

describeEach([...serverTargets(), statefulMockTarget()])('last4 in credential summaries on the $name', (target) => {
  it('when a marked field (a POS api_key) holds 12+ characters, then its summary has its last 4; the unmarked api_secret beside it, as long, has null', async () => {
    const { client } = await tenant(target);
    const apiKey = secretValue('pos_live_', 24);
    const apiSecret = secretValue('possecret_', 24);
    const created = await create(client, { provider: 'pos-connect', settings: POS_SETTINGS, credentials: { api_key: apiKey, api_secret: apiSecret } });
    expect(created.credentials_summary.api_key).toMatchObject({ set: true, last4: apiKey.slice(-4) });
    expect(created.credentials_summary.api_secret).toMatchObject({ set: true, last4: null });
    const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } } });
    expect(got.data!.credentials_summary).toEqual(created.credentials_summary);
    expectNoSecrets([created, got.data], [apiKey, apiSecret]);
  });

  it('when a marked field holds fewer than 12 characters, then its last4 is null; at exactly 12 it has one', async () => {
    const { client } = await tenant(target);
    const short = secretValue('', 11);
    const created = await create(client, { provider: 'pos-connect', settings: POS_SETTINGS, credentials: { api_key: short, api_secret: secretValue('s', 30) } });
    expect(created.credentials_summary.api_key).toMatchObject({ set: true, last4: null });
    const twelve = secretValue('', 12);
    const patched = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { credentials: { api_key: twelve } } });
    expect(patched.response.status, JSON.stringify(patched.error)).toBe(200);
    expect(patched.data!.credentials_summary.api_key).toMatchObject({ set: true, last4: twelve.slice(-4) });
  });

  it('when a bank virtual POS gets a long user name, password and store key and an API key, then only the API key (the one marked field) has a last4', async () => {
    const { client } = await tenant(target);
    const credentials = { username: secretValue('user', 16), password: secretValue('pw-', 30), secret_key: secretValue('store', 28), api_key: secretValue('vposkey', 28) };
    const created = await create(client, { provider: 'payven-vpos', environment: 'test', settings: VPOS_SETTINGS, credentials });
    expect(Object.fromEntries(Object.entries(created.credentials_summary).map(([name, s]) => [name, s.last4]))).toEqual({
      username: null,
      password: null,
      secret_key: null,
      api_key: credentials.api_key.slice(-4),
    });
    // Replacing them all keeps the rule: a new password still has none, a new API key its own.
    const next = { ...credentials, password: secretValue('pw2-', 30), api_key: secretValue('vposkey2', 28) };
    const replaced = await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: created.id } }, body: { credentials: next } });
    expect(replaced.response.status, JSON.stringify(replaced.error)).toBe(200);
    expect(replaced.data!.credentials_summary.password).toMatchObject({ set: true, last4: null });
    expect(replaced.data!.credentials_summary.api_key).toMatchObject({ set: true, last4: next.api_key.slice(-4) });
    expectNoSecrets([created, replaced.data], [...Object.values(credentials), ...Object.values(next)]);
  });

  it('when a free-form (generic) credential is long, then it has no last4: nothing marks it', async () => {
    const { client } = await tenant(target);
    const token = secretValue('tok_', 40);
    const created = await create(client, { provider: 'generic', credentials: { token } });
    expect(created.credentials_summary.token).toMatchObject({ set: true, last4: null });
  });

  it('the catalog says which fields are marked: Stripe secret_key is, its webhook_secret is not', async () => {
    const client = target.client();
    const { response, data } = await client.GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
    expect(response.status).toBe(200);
    const properties = (data!.credentials_schema as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(properties.secret_key!['x-patchbay-hint']).toBe('last4');
    expect(properties.webhook_secret).not.toHaveProperty('x-patchbay-hint');
  });
});

const pgTarget = serverTargets().find((t) => t.name === 'server on PostgreSQL')!;

/** Runs one statement on a database and gives its rows. */
async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** The summary as it was stored before the catalog marked fields: a last4 on every field
 * (here the api_secret's own last 4 characters, as the old rule gave them). */
const OLD_STYLE = `jsonb_set(credentials_summary, '{api_secret,last4}', to_jsonb($2::text))`;

(pgTarget.unavailable ? describe.skip : describe)(`summaries stored before the hint rule, on PostgreSQL${pgTarget.unavailable ? ` (SKIPPED: ${pgTarget.unavailable})` : ''}`, () => {
  it('when a stored summary carries a last4 on an unmarked field (raw SQL), then get and list show null there and keep the marked field\'s', async () => {
    const { client } = await tenant(pgTarget);
    const apiKey = secretValue('pos_live_', 24);
    const apiSecret = secretValue('possecret_', 24);
    const created = await create(client, { provider: 'pos-connect', settings: POS_SETTINGS, credentials: { api_key: apiKey, api_secret: apiSecret } });
    const url = inject('postgresDatabaseUrl')!;
    const updated = await query(url, `UPDATE connections SET credentials_summary = ${OLD_STYLE} WHERE id = $1 RETURNING credentials_summary`, [created.id, apiSecret.slice(-4)]);
    expect(updated[0]!.credentials_summary.api_secret.last4).toBe(apiSecret.slice(-4)); // the old-style row is in place

    const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } } });
    expect(got.data!.credentials_summary.api_secret).toMatchObject({ set: true, last4: null });
    expect(got.data!.credentials_summary.api_key).toMatchObject({ set: true, last4: apiKey.slice(-4) });
    const listed = await client.GET('/v1/connections', { params: { query: { provider: 'pos-connect' } } });
    const inList = listed.data!.data.find((c) => c.id === created.id)!;
    expect(inList.credentials_summary.api_secret!.last4).toBeNull();
    expect(inList.credentials_summary.api_key!.last4).toBe(apiKey.slice(-4));
  });

  describe('the migration, re-run on a database holding old-style summaries', () => {
    let db: TestDatabase;
    let server: RunningServer | undefined;
    const env = { PATCHBAY_ADMIN_KEY: inject('adminKey'), PATCHBAY_MASTER_KEY: MASTER_KEY };
    beforeAll(async () => {
      const made = await createTestDatabase();
      if ('unavailable' in made) throw new Error(`the migration test needs PostgreSQL: ${made.unavailable}`);
      db = made;
      server = await startServer({ store: 'postgres', databaseUrl: db.url }, env);
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await db?.drop();
    });

    it('when a connection and a stored idempotent reply carry a last4 on an unmarked field, then after the migration the database holds none, the marked field keeps its own, and a replay shows null', async () => {
      const { client, apiKey: tenantKey } = await tenant(makeTarget('server on PostgreSQL (migration)', 'server', server!.url));
      const apiKey = secretValue('pos_live_', 24);
      const apiSecret = secretValue('possecret_', 24);
      const idempotencyKey = `idem-hint-${randomUUID()}`;
      const body = { provider: 'pos-connect', reference: uniqueRef('hint'), settings: POS_SETTINGS, credentials: { api_key: apiKey, api_secret: apiSecret } } as const;
      const first = await client.POST('/v1/connections', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body });
      expect(first.response.status, JSON.stringify(first.error)).toBe(201);
      const id = first.data!.id;
      await server!.stop();
      server = undefined;

      // The rows as the old rule wrote them, and the database as it was before the migration.
      const tail = apiSecret.slice(-4);
      const rows = await query(db.url, `UPDATE connections SET credentials_summary = ${OLD_STYLE} WHERE id = $1 RETURNING credentials_summary`, [id, tail]);
      expect(rows[0]!.credentials_summary.api_secret.last4).toBe(tail);
      const replies = await query(db.url, `UPDATE idempotency_keys SET response_body = jsonb_set(response_body, '{credentials_summary,api_secret,last4}', to_jsonb($2::text)) WHERE key = $1 RETURNING response_body`, [idempotencyKey, tail]);
      expect(replies[0]!.response_body.credentials_summary.api_secret.last4).toBe(tail);
      const removed = await query<{ version: number }>(db.url, `DELETE FROM schema_migrations WHERE name LIKE 'credential summaries: last4 only%' RETURNING version`);
      expect(removed).toHaveLength(1);

      server = await startServer({ store: 'postgres', databaseUrl: db.url }, env);
      const [row] = await query<{ credentials_summary: Record<string, { last4: string | null }> }>(db.url, 'SELECT credentials_summary FROM connections WHERE id = $1', [id]);
      expect(row!.credentials_summary.api_secret!.last4).toBeNull();
      expect(row!.credentials_summary.api_key!.last4).toBe(apiKey.slice(-4));
      const [reply] = await query<{ response_body: Connection }>(db.url, 'SELECT response_body FROM idempotency_keys WHERE key = $1', [idempotencyKey]);
      expect(reply!.response_body.credentials_summary.api_secret!.last4).toBeNull();
      expect(reply!.response_body.credentials_summary.api_key!.last4).toBe(apiKey.slice(-4));
      const applied = await query(db.url, `SELECT 1 FROM schema_migrations WHERE name LIKE 'credential summaries: last4 only%'`);
      expect(applied).toHaveLength(1);

      // A replay answers from the stored reply, not through the read path: it shows the scrub.
      const again = makeTarget('server on PostgreSQL (migration, restarted)', 'server', server.url);
      const replay = await again.client({ apiKey: tenantKey }).POST('/v1/connections', { params: { header: { 'Idempotency-Key': idempotencyKey } }, body });
      expect(replay.response.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.data!.credentials_summary.api_secret!.last4).toBeNull();
      expect(replay.data!.credentials_summary.api_key!.last4).toBe(apiKey.slice(-4));
    });
  });
});
