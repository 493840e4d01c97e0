/** Keys on several server processes over one PostgreSQL (issue 11): a revocation, a rotation
 * without overlap and a platform key's revocation hold on every process at once (nothing is
 * cached per process); in production the bootstrap key may be left unset once a platform key
 * exists, and the server refuses to start, naming PATCHBAY_ADMIN_KEY, while none does. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { LISTENING, spawnServer, startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const MASTER_KEY = Buffer.alloc(32, 21).toString('base64');
/** 32 random bytes: what production requires of the bootstrap key. */
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of keys-across-processes');

async function json(response: Response) {
  expect(response.status, await response.clone().text()).toBeLessThan(300);
  return response.json();
}

/** fetch with a key, answering the status. */
const statusOf = async (url: string, key: string, init: RequestInit = {}) => (await fetch(url, { ...init, headers: { 'X-Api-Key': key, ...(init.headers ?? {}) } })).status;

async function database(): Promise<TestDatabase> {
  const made = await createTestDatabase();
  if ('unavailable' in made) throw new Error(`these tests need PostgreSQL: ${made.unavailable}`);
  return made;
}

describe('keys on two server processes over one PostgreSQL', () => {
  let db: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  const env = () => ({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY });
  const admin = (init: RequestInit = {}) => ({ ...init, headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });

  beforeAll(async () => {
    db = await database();
    a = await startServer({ store: 'postgres', databaseUrl: db.url }, env());
    b = await startServer({ store: 'postgres', databaseUrl: db.url }, env());
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  async function tenantKey(on: RunningServer) {
    const tenant = await json(await fetch(`${on.url}/admin/v1/tenants`, admin({ method: 'POST', body: JSON.stringify({ name: 'two processes' }) })));
    const key = await json(await fetch(`${on.url}/admin/v1/tenants/${tenant.id}/api-keys`, admin({ method: 'POST', body: JSON.stringify({ name: 'k', scopes: ['connections:read'] }) })));
    registerSecret(key.api_key, 'a tenant key of keys-across-processes');
    return { tenantId: tenant.id as string, keyId: key.id as string, apiKey: key.api_key as string };
  }

  it('when a key is revoked on one process, then the very next request with it on the other is a 401', async () => {
    const key = await tenantKey(a);
    // Warm both processes up with the key: a cache, if there were one, would now hold it.
    expect(await statusOf(`${a.url}/v1/connections`, key.apiKey)).toBe(200);
    expect(await statusOf(`${b.url}/v1/connections`, key.apiKey)).toBe(200);
    await json(await fetch(`${a.url}/admin/v1/tenants/${key.tenantId}/api-keys/${key.keyId}`, admin({ method: 'DELETE' })));
    expect(await statusOf(`${b.url}/v1/connections`, key.apiKey)).toBe(401);
    expect(await statusOf(`${a.url}/v1/connections`, key.apiKey)).toBe(401);
  });

  it('when a key is rotated without overlap on one process, then the old key is refused on the other at once and the new one accepted', async () => {
    const key = await tenantKey(b);
    expect(await statusOf(`${a.url}/v1/connections`, key.apiKey)).toBe(200);
    const rotated = await json(await fetch(`${b.url}/admin/v1/tenants/${key.tenantId}/api-keys/${key.keyId}/rotate?overlap_seconds=0`, admin({ method: 'POST' })));
    registerSecret(rotated.new_key.api_key, 'a rotated key of keys-across-processes');
    expect(await statusOf(`${a.url}/v1/connections`, key.apiKey)).toBe(401);
    expect(await statusOf(`${a.url}/v1/connections`, rotated.new_key.api_key)).toBe(200);
  });

  it('when a platform key is revoked on one process, then the other refuses it at once', async () => {
    const made = await json(await fetch(`${a.url}/admin/v1/platform-keys`, admin({ method: 'POST', body: JSON.stringify({ name: 'ops', scopes: ['tenants:read'] }) })));
    registerSecret(made.api_key, 'a platform key of keys-across-processes');
    expect(await statusOf(`${b.url}/admin/v1/tenants`, made.api_key)).toBe(200);
    await json(await fetch(`${a.url}/admin/v1/platform-keys/${made.id}`, admin({ method: 'DELETE' })));
    expect(await statusOf(`${b.url}/admin/v1/tenants`, made.api_key)).toBe(401);
  });
});

describe('PATCHBAY_ADMIN_KEY in production', () => {
  it('is required until a platform key exists, and may be left unset once one does', async () => {
    const db = await database();
    const production = (adminKey: string | undefined) => ({ NODE_ENV: 'production', PATCHBAY_MASTER_KEY: MASTER_KEY, PATCHBAY_ADMIN_KEY: adminKey, DATABASE_URL: db.url });
    try {
      // No platform key yet: refused, naming the variable.
      const refused = spawnServer(production(undefined));
      const { code } = await refused.exit(60_000);
      expect(code, refused.output()).toBe(78);
      expect(refused.output()).toContain('PATCHBAY_ADMIN_KEY');
      expect(refused.output()).not.toMatch(LISTENING);

      // Set up with the bootstrap key: a platform key that may manage platform keys.
      const setup = await startServer({ store: 'postgres', databaseUrl: db.url }, production(ADMIN_KEY));
      let platformKey: { id: string; api_key: string };
      try {
        platformKey = await json(
          await fetch(`${setup.url}/admin/v1/platform-keys`, {
            method: 'POST',
            headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' },
            body: JSON.stringify({ name: 'operator', scopes: ['tenants:read', 'platform_keys:write'] }),
          }),
        );
        registerSecret(platformKey.api_key, 'the production platform key');
      } finally {
        await setup.stop();
      }

      // Now it starts without the bootstrap key; the platform key works, the old bootstrap key does not.
      const running = await startServer({ store: 'postgres', databaseUrl: db.url }, production(undefined));
      try {
        expect(await statusOf(`${running.url}/admin/v1/tenants`, platformKey.api_key)).toBe(200);
        expect(await statusOf(`${running.url}/admin/v1/tenants`, ADMIN_KEY)).toBe(401);
        // The operator revokes its last platform key ...
        expect(await statusOf(`${running.url}/admin/v1/platform-keys/${platformKey.id}`, platformKey.api_key, { method: 'DELETE' })).toBe(200);
      } finally {
        await running.stop();
      }
      // ... and the next start without the bootstrap key is refused again.
      const again = spawnServer(production(undefined));
      expect((await again.exit(60_000)).code, again.output()).toBe(78);
    } finally {
      await db.drop();
    }
  }, 180_000);
});
