/** An API key's lookup and its rate-limit counts in one statement (issue 13, decision 0028):
 * on PostgreSQL the key is read by hash and its per-key and per-tenant counts upserted in the
 * same round trip. These tests hold it to what three queries guaranteed: counts exact in sum
 * across processes under concurrent load (every remaining value handed out once), a
 * revocation refused by the other process for every request sent after it was acknowledged,
 * even while that process is busy with the key, and nothing counted for a key that is not
 * live (its requests are failed authentications instead). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectProblem, type CallResult } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const ADMIN_KEY = registerSecret('pb_test_lookup_counting_admin_0123456789abcdef', 'the bootstrap key of key-lookup-counting');
const MASTER_KEY = Buffer.alloc(32, 13).toString('base64');
const PER_KEY = 10;
const PER_TENANT = 25;
/** Long windows: no window can end while a test runs, so every count below is exact. */
const WINDOW = 3600;

interface Key {
  id: string;
  apiKey: string;
}

/** `r` (what is left) of one policy in the RateLimit field, or undefined when the field does not name it. */
function left(result: CallResult, policy: string): number | undefined {
  const match = new RegExp(`"${policy}";r=(\\d+);t=(\\d+)`).exec(result.headers.get('ratelimit') ?? '');
  return match ? Number(match[1]) : undefined;
}

describe('key lookup and counts in one statement, two processes on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: RunningServer;
  let b: RunningServer;
  const env = {
    PATCHBAY_ADMIN_KEY: ADMIN_KEY,
    PATCHBAY_MASTER_KEY: MASTER_KEY,
    PATCHBAY_RATE_LIMIT_PER_KEY: `${PER_KEY}/${WINDOW}s`,
    PATCHBAY_RATE_LIMIT_PER_TENANT: `${PER_TENANT}/${WINDOW}s`,
    // The bootstrap key sets everything up through the library's counts; not the subject here.
    PATCHBAY_RATE_LIMIT_FAILED_AUTH: `1000/${WINDOW}s`,
  };

  beforeAll(async () => {
    const created = await createTestDatabase();
    if ('unavailable' in created) throw new Error(`this test needs PostgreSQL: ${created.unavailable}`);
    database = created;
    [a, b] = await Promise.all([startServer({ store: 'postgres', databaseUrl: database.url }, env), startServer({ store: 'postgres', databaseUrl: database.url }, env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  const admin = (server: RunningServer, path: string, init: { method?: string; body?: unknown } = {}) =>
    call(path, { baseUrl: server.url, apiKey: ADMIN_KEY, method: init.method ?? (init.body ? 'POST' : 'GET'), ...(init.body ? { body: JSON.stringify(init.body), headers: { 'Content-Type': 'application/json' } } : {}) });

  async function tenantWithKeys(count: number): Promise<{ tenantId: string; keys: Key[] }> {
    const tenant = await admin(a, '/admin/v1/tenants', { body: { name: 'lookup counting' } });
    expect(tenant.status, tenant.text).toBe(201);
    const tenantId = (tenant.json as { id: string }).id;
    const keys: Key[] = [];
    for (let i = 0; i < count; i++) {
      const key = await admin(b, `/admin/v1/tenants/${tenantId}/api-keys`, { body: { name: `k${i}`, scopes: ['connections:read'] } });
      expect(key.status, key.text).toBe(201);
      const { id, api_key } = key.json as { id: string; api_key: string };
      keys.push({ id, apiKey: registerSecret(api_key, 'a tenant key of key-lookup-counting') });
    }
    return { tenantId, keys };
  }

  const list = (server: RunningServer, apiKey: string) => call('/v1/connections', { baseUrl: server.url, apiKey });

  it('when one key sends twice its quota at once through both processes, then exactly its quota is served, each remaining count once, and the rest are 429', async () => {
    const { keys } = await tenantWithKeys(2);
    const [k1, k2] = keys as [Key, Key];
    const results = await Promise.all(Array.from({ length: 2 * PER_KEY }, (_, i) => list(i % 2 ? a : b, k1.apiKey)));
    const served = results.filter((r) => r.status === 200);
    expect(served).toHaveLength(PER_KEY);
    // No count lost or doubled between the processes: the remaining values are PER_KEY-1 … 0, once each.
    expect(served.map((r) => left(r, 'per_key')).sort((x, y) => x! - y!)).toEqual(Array.from({ length: PER_KEY }, (_, i) => i));
    for (const refused of results.filter((r) => r.status !== 200)) {
      const problem = expectProblem(refused, 429, 'rate_limited') as { violated_policies?: string[] };
      expect(problem.violated_policies).toEqual(['per_key']);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW);
    }

    // The tenant has spent 2 × PER_KEY (refused requests count); its other key gets what is left of the tenant's quota.
    const second = await Promise.all(Array.from({ length: PER_KEY }, (_, i) => list(i % 2 ? a : b, k2.apiKey)));
    const tenantLeft = PER_TENANT - 2 * PER_KEY;
    expect(second.filter((r) => r.status === 200)).toHaveLength(tenantLeft);
    expect(
      second
        .filter((r) => r.status === 200)
        .map((r) => left(r, 'per_tenant'))
        .sort((x, y) => x! - y!),
    ).toEqual(Array.from({ length: tenantLeft }, (_, i) => i));
    for (const refused of second.filter((r) => r.status !== 200)) {
      expect((expectProblem(refused, 429, 'rate_limited') as { violated_policies?: string[] }).violated_policies).toEqual(['per_tenant']);
    }
  });

  it('when a key is revoked on one process while the other serves it, then every request the other receives after the revocation is acknowledged is a 401', async () => {
    const { tenantId, keys } = await tenantWithKeys(1);
    const [key] = keys as [Key];
    let acknowledged = false;
    const afterAck: CallResult[] = [];
    let before = 0;
    const worker = async () => {
      for (let sent = 0; sent < 200; sent++) {
        const sentAfterAck = acknowledged;
        const result = await list(b, key.apiKey);
        if (sentAfterAck) afterAck.push(result);
        else before++;
        if (afterAck.length >= 12) return;
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    // Revoke once B has served the key a few times (it is busy with it from then on).
    while (before < 4) await new Promise((r) => setTimeout(r, 5));
    const revoked = await admin(a, `/admin/v1/tenants/${tenantId}/api-keys/${key.id}`, { method: 'DELETE' });
    expect(revoked.status, revoked.text).toBe(200);
    acknowledged = true;
    await Promise.all(workers);
    expect(afterAck.length).toBeGreaterThanOrEqual(12);
    for (const result of afterAck) expect(result.status, result.text).toBe(401);
  });

  it('when a key is revoked, then its requests count against nothing of the tenant, and are failed authentications of their address', async () => {
    const { tenantId, keys } = await tenantWithKeys(2);
    const [revokedKey, other] = keys as [Key, Key];
    const first = await list(a, revokedKey.apiKey);
    expect(first.status).toBe(200);
    expect(left(first, 'per_tenant')).toBe(PER_TENANT - 1);
    expect((await admin(b, `/admin/v1/tenants/${tenantId}/api-keys/${revokedKey.id}`, { method: 'DELETE' })).status).toBe(200);
    const failed: (number | undefined)[] = [];
    for (let i = 0; i < 2 * PER_TENANT; i++) {
      const refused = await list(i % 2 ? a : b, revokedKey.apiKey);
      expect(refused.status).toBe(401);
      // Counted as a failed authentication, never as the tenant's or the key's.
      expect(left(refused, 'per_tenant')).toBeUndefined();
      expect(left(refused, 'per_key')).toBeUndefined();
      failed.push(left(refused, 'failed_auth'));
    }
    expect(failed.every((r) => typeof r === 'number')).toBe(true);
    const next = await list(b, other.apiKey);
    expect(next.status).toBe(200);
    expect(left(next, 'per_tenant')).toBe(PER_TENANT - 2);
    expect(left(next, 'per_key')).toBe(PER_KEY - 1);
  });
});
