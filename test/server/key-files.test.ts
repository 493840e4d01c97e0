/** The development key file (issue 12, decision 0021): made atomically, mode 0600 in a 0700
 * directory; once anything is encrypted under it, losing it stops start-up instead of a new
 * key being made quietly; a bad PATCHBAY_MASTER_KEYS_PREVIOUS stops start-up naming it. */
import { mkdtempSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { spawnServer, startServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of key-files');

describe('development key file', () => {
  let db: TestDatabase;
  let parent: string;

  beforeAll(async () => {
    const made = await createTestDatabase();
    if ('unavailable' in made) throw new Error(`these tests need PostgreSQL: ${made.unavailable}`);
    db = made;
    parent = mkdtempSync(join(tmpdir(), 'patchbay-key-files-'));
  });
  afterAll(async () => {
    await db?.drop();
    if (parent) rmSync(parent, { recursive: true, force: true });
  });

  it('when no master key is set, then the key file is made with mode 0600 in a 0700 directory, with no temporary file left', async () => {
    const dataDir = join(parent, 'data');
    const server = await startServer({ store: 'postgres', databaseUrl: db.url }, { PATCHBAY_ADMIN_KEY: ADMIN_KEY }, { dataDir });
    await server.stop();
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect(readdirSync(dataDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('when the key file is deleted while the database holds data encrypted under it, then the server refuses to start and makes no new key', async () => {
    const dataDir = join(parent, 'data');
    unlinkSync(join(dataDir, 'master.key'));
    const run = spawnServer({ DATABASE_URL: db.url, PATCHBAY_ADMIN_KEY: ADMIN_KEY }, { dataDir });
    expect((await run.exit()).code).toBe(78);
    expect(run.output()).toMatch(/development key file .*master\.key is missing, but the database holds data encrypted under key version 1/);
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow();
  });

  it.each([
    ['an unversioned entry', () => `v2:${Buffer.alloc(32, 7).toString('base64')}`, () => Buffer.alloc(32, 8).toString('base64'), /PATCHBAY_MASTER_KEYS_PREVIOUS: each entry must be v<N>:/],
    ['a version not below the current one', () => `v2:${Buffer.alloc(32, 7).toString('base64')}`, () => `v3:${Buffer.alloc(32, 8).toString('base64')}`, /PATCHBAY_MASTER_KEYS_PREVIOUS: key version 3 is not below the current version 2/],
  ])('when PATCHBAY_MASTER_KEYS_PREVIOUS holds %s, then the server refuses to start naming it and no key', async (_, current, previous, message) => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: current(), PATCHBAY_MASTER_KEYS_PREVIOUS: previous() });
    expect((await run.exit()).code).toBe(78);
    expect(run.output()).toMatch(message);
    expect(run.output()).not.toContain(Buffer.alloc(32, 8).toString('base64'));
  });
});
