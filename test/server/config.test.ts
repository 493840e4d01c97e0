/** Start-up configuration (apps/server/src/platform/config.ts): read once from the environment; a bad
 * value stops the server before it listens, naming the variable and never echoing a secret.
 * Each test starts its own server process, so they run concurrently. */
import { describe, it } from 'vitest';
import { createTestDatabase } from '../support/postgres.js';
import { LISTENING, spawnServer } from '../support/processes.js';

const VALID_KEY = 'pb_test_config_admin_key_0123456789';
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
/** The line that prints the generated bootstrap key (the development tenant's key is printed inside a curl command). */
const GENERATED_KEY_LINE = /^\s+X-Api-Key: (\S+)\s*$/m;

describe.concurrent('server start-up configuration', () => {
  it.for(['notaport', '70000', '-1'])('exits non-zero naming PORT when PORT=%s', async (port, { expect }) => {
    const run = spawnServer({ PORT: port, PATCHBAY_ADMIN_KEY: VALID_KEY });
    const { code } = await run.exit();
    expect(code, run.output()).not.toBe(0);
    expect(code).not.toBeNull();
    expect(run.output()).toMatch(/\bPORT\b/);
    expect(run.output()).not.toMatch(LISTENING);
  });

  it.for([
    ['PATCHBAY_RATE_LIMIT_PER_KEY', '100'],
    ['PATCHBAY_RATE_LIMIT_PER_TENANT', '0/10s'],
    ['PATCHBAY_RATE_LIMIT_FAILED_AUTH', '10/0s'],
    ['PATCHBAY_TRUST_PROXY', 'the load balancer'],
    ['PATCHBAY_IDEMPOTENCY_LEASE_MS', '5s'],
    ['PATCHBAY_DB_POOL_SIZE', '0'],
    ['PATCHBAY_DB_POOL_SIZE', 'ten'],
  ] as const)('exits non-zero naming %s when it is %s', async ([variable, value], { expect }) => {
    const run = spawnServer({ [variable]: value, PATCHBAY_ADMIN_KEY: VALID_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY });
    const { code } = await run.exit();
    expect(code, run.output()).toBe(78);
    expect(run.output()).toContain(`invalid configuration: ${variable}:`);
    expect(run.output()).not.toMatch(LISTENING);
  });

  it.for([
    ['is shorter than 24 characters', 'sh0rt-Adm1n-k3y'],
    ['contains white space', 'pb admin key with spaces 0123456789'],
  ])('exits naming PATCHBAY_ADMIN_KEY, without printing it, when the key %s', async ([, key], { expect }) => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: key });
    const { code } = await run.exit();
    expect(code, run.output()).not.toBe(0);
    expect(code).not.toBeNull();
    expect(run.output()).toContain('PATCHBAY_ADMIN_KEY');
    expect(run.output()).not.toContain(key!);
    expect(run.output()).not.toMatch(LISTENING);
  });

  it('exits naming PATCHBAY_ADMIN_KEY when NODE_ENV=production and the key is not set', async ({ expect }) => {
    // Everything else production needs is given (a PostgreSQL database too), so only the admin key is missing.
    const db = await createTestDatabase();
    if ('unavailable' in db) throw new Error(`this test needs PostgreSQL: ${db.unavailable}`);
    const run = spawnServer({ NODE_ENV: 'production', DATABASE_URL: db.url, PATCHBAY_ADMIN_KEY: undefined, PATCHBAY_MASTER_KEY: MASTER_KEY });
    const { code } = await run.exit().finally(() => db.drop());
    expect(code, run.output()).not.toBe(0);
    expect(code).not.toBeNull();
    expect(run.output()).toContain('PATCHBAY_ADMIN_KEY');
    expect(run.output()).not.toMatch(LISTENING);
  });

  it('in development without PATCHBAY_ADMIN_KEY, prints a generated key once, and that key works', async ({ expect }) => {
    const run = spawnServer({ NODE_ENV: 'development', PATCHBAY_ADMIN_KEY: undefined, LOG_LEVEL: 'info' });
    try {
      const [, key] = await run.waitForOutput(GENERATED_KEY_LINE);
      const [, url] = await run.waitForOutput(LISTENING);
      const accepted = await fetch(`${url}/v1/providers`, { headers: { 'X-Api-Key': key! } });
      expect(accepted.status).toBe(200);
      const rejected = await fetch(`${url}/v1/providers`, { headers: { 'X-Api-Key': `${key}x` } });
      expect(rejected.status).toBe(401);
      await run.stop();
      // Printed for the developer to copy, and nowhere else (not in the request logs).
      expect(run.output().split(key!).length - 1, run.output()).toBe(1);
    } finally {
      await run.stop();
    }
  });
});
