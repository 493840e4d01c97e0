/** Authentication when things go wrong (apps/server/src/http/auth.ts): a credential store that
 * cannot be reached is a 503, never a 401 as if every key had been revoked; the bootstrap key
 * is for setting up, and each use of it is logged. Each test starts its own server. */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { ADMIN_URL, createTestDatabase } from '../support/postgres.js';
import { LISTENING, spawnServer } from '../support/processes.js';

const ADMIN_KEY = 'pb_test_auth_admin_key_0123456789abcdef';
const MASTER_KEY = Buffer.alloc(32, 11).toString('base64');

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('authentication', () => {
  it('when the database stops answering, then a request with a valid key gets a 503 problem with Retry-After, and a 200 once it is back', async () => {
    const database = await createTestDatabase();
    if ('unavailable' in database) throw new Error(`this test needs PostgreSQL: ${database.unavailable}`);
    const name = new URL(database.url).pathname.slice(1);
    const run = spawnServer({ DATABASE_URL: database.url, PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY });
    try {
      const [, baseUrl] = await run.waitForOutput(LISTENING);
      const admin = { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' };
      const tenant = await (await fetch(`${baseUrl}/admin/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'outage' }) })).json();
      const key = await (await fetch(`${baseUrl}/admin/v1/tenants/${tenant.id}/api-keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'k', scopes: ['connections:read'] }) })).json();
      const list = () => fetch(`${baseUrl}/v1/connections`, { headers: { 'X-Api-Key': key.api_key } });
      expect((await list()).status).toBe(200);

      // Refuse new connections to the server's database and end the ones it holds.
      await asAdmin(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`);
      await asAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      const down = await list();
      expect(down.status).toBe(503);
      expect(down.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(down.headers.get('retry-after')).toBe('5');
      const problem = await down.json();
      expect(problem).toMatchObject({ status: 503, code: 'not_ready' });
      expect(JSON.stringify(problem)).not.toContain(key.api_key);
      // A request without a key is still a plain 401: nothing to look up.
      expect((await fetch(`${baseUrl}/v1/connections`)).status).toBe(401);

      await asAdmin(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`);
      expect((await list()).status).toBe(200);
    } finally {
      await run.stop();
      await asAdmin(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS true`).catch(() => undefined);
      await database.drop();
    }
  });

  it('when the bootstrap key is used, then each use is logged, without the key', async () => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY });
    try {
      const [, baseUrl] = await run.waitForOutput(LISTENING);
      for (let i = 0; i < 2; i++) expect((await fetch(`${baseUrl}/admin/v1/tenants`, { headers: { 'X-Api-Key': ADMIN_KEY } })).status).toBe(200);
      await run.waitForOutput(/bootstrap key \(PATCHBAY_ADMIN_KEY\) used[\s\S]*bootstrap key \(PATCHBAY_ADMIN_KEY\) used/);
      expect(run.output()).not.toContain(ADMIN_KEY);
    } finally {
      await run.stop();
    }
  });

  it('when NODE_ENV=production and the bootstrap key is long but not random, then the server refuses to start, naming the variable', async () => {
    const run = spawnServer({ NODE_ENV: 'production', PATCHBAY_ADMIN_KEY: 'ab'.repeat(30), PATCHBAY_MASTER_KEY: MASTER_KEY });
    const { code } = await run.exit();
    expect(code).not.toBe(0);
    expect(run.output()).toContain('PATCHBAY_ADMIN_KEY');
    expect(run.output()).not.toContain('ab'.repeat(30));
    expect(run.output()).not.toMatch(LISTENING);
  });
});
