/** Development is asked for, production is safe by default (issue 12; decision 0022): generated
 * keys and the printed development key only with PATCHBAY_DEV=true or `--dev`, and then only on
 * loopback; NODE_ENV=production requires DATABASE_URL; the embedded store refuses a data
 * directory another live process holds. Each test starts its own server processes. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { LISTENING, spawnServer } from '../support/processes.js';

const ADMIN_KEY = 'pb_test_devmode_admin_key_0123456789';
const MASTER_KEY = `v1:${Buffer.alloc(32, 7).toString('base64')}`;
/** The lines only development mode prints: the generated bootstrap key and the development tenant's key. */
const DEVELOPMENT_LINES = /generated bootstrap admin key|Development tenant/;

describe.concurrent('development mode is asked for', () => {
  it('without PATCHBAY_DEV or --dev and without PATCHBAY_MASTER_KEY, the server refuses to start naming PATCHBAY_MASTER_KEY, and generates no key', async ({ expect }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-devmode-'));
    try {
      const run = spawnServer({ PATCHBAY_DEV: undefined, PATCHBAY_ADMIN_KEY: undefined }, { dataDir });
      expect((await run.exit()).code, run.output()).toBe(78);
      expect(run.output()).toContain('PATCHBAY_MASTER_KEY');
      expect(run.output()).not.toMatch(DEVELOPMENT_LINES);
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('without development mode and with its keys given, the server starts and prints no key', async ({ expect }) => {
    const run = spawnServer({ PATCHBAY_DEV: undefined, PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'info' });
    try {
      const [, url] = await run.waitForOutput(LISTENING, 60_000);
      expect((await fetch(`${url}/v1/providers`, { headers: { 'X-Api-Key': ADMIN_KEY } })).status).toBe(200);
      expect(run.output()).not.toMatch(DEVELOPMENT_LINES);
    } finally {
      await run.stop();
    }
  });

  it('with --dev, a bootstrap key and a development tenant key are generated and printed', async ({ expect }) => {
    const run = spawnServer({ PATCHBAY_DEV: undefined, PATCHBAY_ADMIN_KEY: undefined, LOG_LEVEL: 'info' }, { args: ['--dev'] });
    try {
      await run.waitForOutput(LISTENING, 60_000);
      expect(run.output()).toMatch(/generated bootstrap admin key/);
      const [, key] = await run.waitForOutput(/curl -H 'X-Api-Key: (pb_\S+)'/);
      const [, url] = await run.waitForOutput(LISTENING);
      expect((await fetch(`${url}/v1/connections`, { headers: { 'X-Api-Key': key! } })).status).toBe(200);
    } finally {
      await run.stop();
    }
  });

  it.for([
    ['0.0.0.0', { PATCHBAY_DEV: 'true', HOST: '0.0.0.0' }, 'HOST'],
    ['NODE_ENV=production', { PATCHBAY_DEV: 'true', NODE_ENV: 'production', DATABASE_URL: 'postgres://127.0.0.1:1/none', PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY }, 'PATCHBAY_DEV'],
    ['PATCHBAY_DEV=yes', { PATCHBAY_DEV: 'yes' }, 'PATCHBAY_DEV'],
  ] as const)('development mode with %s stops start-up naming the variable', async ([, env, variable], { expect }) => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, ...env });
    expect((await run.exit()).code, run.output()).toBe(78);
    expect(run.output()).toContain(variable);
    expect(run.output()).not.toMatch(LISTENING);
  });

  it('NODE_ENV=production without DATABASE_URL stops start-up naming DATABASE_URL', async ({ expect }) => {
    const run = spawnServer({ NODE_ENV: 'production', PATCHBAY_ADMIN_KEY: 'Qx7'.repeat(5) + 'abcdefghijklmnopqrstuvwxyz0123456789', PATCHBAY_MASTER_KEY: MASTER_KEY });
    expect((await run.exit()).code, run.output()).toBe(78);
    expect(run.output()).toContain('DATABASE_URL');
    expect(run.output()).not.toMatch(LISTENING);
  });
});

describe('the embedded store locks its data directory', () => {
  it('a second server on a data directory a live server holds is refused naming that process; the lock goes at shutdown; a dead holder is taken over', async ({ expect }) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-lock-'));
    const env = { PATCHBAY_DEV: undefined, PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY };
    const lock = join(dataDir, 'patchbay.lock');
    try {
      const first = spawnServer(env, { dataDir });
      try {
        await first.waitForOutput(LISTENING, 60_000);
        expect(readFileSync(lock, 'utf8').trim()).toBe(String(first.child.pid));
        const second = spawnServer(env, { dataDir });
        expect((await second.exit()).code, second.output()).not.toBe(0);
        expect(second.output()).toContain(`process ${first.child.pid} holds it`);
        expect(second.output()).not.toMatch(LISTENING);
      } finally {
        await first.stop();
      }
      expect(existsSync(lock)).toBe(false);

      // A lock left by a process that is gone (SIGKILL): pid 2^22+1 is above Linux's pid_max default.
      writeFileSync(lock, '4194305\n');
      const third = spawnServer(env, { dataDir });
      try {
        const [, url] = await third.waitForOutput(LISTENING, 60_000);
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        expect(readFileSync(lock, 'utf8').trim()).toBe(String(third.child.pid));
      } finally {
        await third.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});
