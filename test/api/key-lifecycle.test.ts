/** API key lifecycle (issue 11): expiry at creation (bounded), rotation with a stated overlap
 * window, last_used_at, and that nobody hands out rights it does not hold. */
import { expect, it } from 'vitest';
import { specViolations } from '../support/spec-schema.js';
import { registerSecret } from '../support/secrets.js';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { tenant } from './factories.js';

const DAY = 24 * 3600_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET /v1/connections with a key: its status. */
const statusWith = async (target: Target, apiKey: string) => (await target.client({ apiKey }).GET('/v1/connections', {})).response.status;

/** Rotates a tenant key as the bootstrap key; registers the new key as a secret. */
async function rotate(target: Target, tenantId: string, keyId: string, overlap_seconds?: number) {
  const result = await target.client().POST('/admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate', {
    params: { path: { tenantId, keyId }, query: overlap_seconds === undefined ? {} : { overlap_seconds } },
  });
  if (result.data) registerSecret(result.data.new_key.api_key, 'a rotated API key');
  return result;
}

describeEach(serverTargets())('API key lifecycle on the $name', (target) => {
  const admin = () => target.client();

  it('rejects a caller without a key on rotateApiKey', async () => {
    const { response } = await target.client({ apiKey: undefined }).POST('/admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate', {
      params: { path: { tenantId: 'ten_01jd5qa0b2c4e6g8j0k2m4n6p8', keyId: 'key_01jd5qb2c4e6g8j0k2m4n6p8r0' } },
    });
    expect(response.status).toBe(401);
  });

  it('when a key is created with an expiry, then it carries it; an expiry in the past or more than 366 days ahead is a 400 naming /expires_at, and no key is made', async () => {
    const mine = await tenant(target);
    const expiresAt = new Date(Date.now() + 30 * DAY).toISOString();
    const created = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'expiring', scopes: ['connections:read'], expires_at: expiresAt } });
    expect(created.response.status).toBe(201);
    expect(specViolations('createApiKey', 201, created.data)).toEqual([]);
    registerSecret(created.data!.api_key, 'an expiring API key');
    expect(created.data!.expires_at).toBe(expiresAt);
    expect(await statusWith(target, created.data!.api_key)).toBe(200);

    for (const bad of [new Date(Date.now() - 1000).toISOString(), new Date(Date.now() + 367 * DAY).toISOString()]) {
      const { response, error } = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'bad expiry', scopes: ['connections:read'], expires_at: bad } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/expires_at']);
    }
    const keys = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(keys.data!.data.map((k) => k.name).sort()).toEqual(['expiring', 'test key']);
  });

  it('when a key is rotated, then the new key (shown once) works, the old one keeps working through the overlap the response states, and gets a 401 after it', async () => {
    const mine = await tenant(target, ['connections:read', 'audit:read']);
    const before = Date.now();
    const { response, data } = await rotate(target, mine.tenantId, mine.keyId, 2);
    expect(response.status).toBe(200);
    expect(specViolations('rotateApiKey', 200, data)).toEqual([]);
    const { new_key, previous_key } = data!;
    expect(new_key.api_key).toMatch(/^pb_/);
    expect(new_key).toMatchObject({ name: 'test key', scopes: ['connections:read', 'audit:read'], tenant_id: mine.tenantId, revoked_at: null, replaced_by: null });
    expect(previous_key).toMatchObject({ id: mine.keyId, replaced_by: new_key.id, revoked_at: null });
    const until = new Date(previous_key.expires_at!).getTime();
    expect(until).toBeGreaterThanOrEqual(before + 2000 - 50);
    expect(until).toBeLessThanOrEqual(Date.now() + 2000 + 50);

    // Inside the overlap both keys work.
    expect(await statusWith(target, mine.apiKey)).toBe(200);
    expect(await statusWith(target, new_key.api_key)).toBe(200);
    // After it, the old key is refused and the new one is not.
    await sleep(Math.max(0, until - Date.now()) + 300);
    expect(await statusWith(target, mine.apiKey)).toBe(401);
    expect(await statusWith(target, new_key.api_key)).toBe(200);

    const list = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(JSON.stringify(list.data)).not.toContain(new_key.api_key);
    expect(list.data!.data.map((k) => k.id)).toEqual([mine.keyId, new_key.id]);
  });

  it('when a key is rotated without an overlap, then the default overlap is a day; above 7 days it is a 400 and nothing changes', async () => {
    const mine = await tenant(target, ['connections:read']);
    const tooLong = await rotate(target, mine.tenantId, mine.keyId, 604_801);
    expect(tooLong.response.status).toBe(400);
    expect(tooLong.error!.errors!.map((e) => e.pointer)).toEqual(['/query/overlap_seconds']);
    const unchanged = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(unchanged.data!.data).toHaveLength(1);
    expect(unchanged.data!.data[0]).toMatchObject({ expires_at: null, replaced_by: null });

    const before = Date.now();
    const { data } = await rotate(target, mine.tenantId, mine.keyId);
    const until = new Date(data!.previous_key.expires_at!).getTime();
    expect(until).toBeGreaterThanOrEqual(before + DAY - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + DAY + 1000);
  });

  it('when overlap_seconds is 0, then the old key is refused at once', async () => {
    const mine = await tenant(target, ['connections:read']);
    const { data } = await rotate(target, mine.tenantId, mine.keyId, 0);
    expect(await statusWith(target, mine.apiKey)).toBe(401);
    expect(await statusWith(target, data!.new_key.api_key)).toBe(200);
  });

  it('when a key was rotated, revoked or is unknown, then rotating it is a 409 (or a 404) and makes no key', async () => {
    const mine = await tenant(target, ['connections:read']);
    const first = await rotate(target, mine.tenantId, mine.keyId, 60);
    const again = await rotate(target, mine.tenantId, mine.keyId, 60);
    expect(again.response.status).toBe(409);
    expect(again.error).toMatchObject({ code: 'conflict' });
    expect(again.error!.detail).toContain(first.data!.new_key.id);

    await admin().DELETE('/admin/v1/tenants/{tenantId}/api-keys/{keyId}', { params: { path: { tenantId: mine.tenantId, keyId: first.data!.new_key.id } } });
    const revoked = await rotate(target, mine.tenantId, first.data!.new_key.id, 60);
    expect(revoked.response.status).toBe(409);

    const other = await tenant(target, ['connections:read']);
    const elsewhere = await rotate(target, other.tenantId, mine.keyId, 60);
    expect(elsewhere.response.status).toBe(404);
    const keys = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(keys.data!.data).toHaveLength(2);
  });

  it('when a key of limited lifetime is rotated, then its successor lives as long as it was issued for', async () => {
    const mine = await tenant(target);
    const created = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', {
      params: { path: { tenantId: mine.tenantId } },
      body: { name: 'ten days', scopes: ['connections:read'], expires_at: new Date(Date.now() + 10 * DAY).toISOString() },
    });
    registerSecret(created.data!.api_key, 'a ten-day API key');
    const before = Date.now();
    const { data } = await rotate(target, mine.tenantId, created.data!.id, 60);
    const lifetime = new Date(data!.new_key.expires_at!).getTime() - before;
    expect(lifetime).toBeGreaterThan(10 * DAY - 5000);
    expect(lifetime).toBeLessThan(10 * DAY + 5000);
  });

  it('when a tenant key tries to rotate its own key or another, then a 403 and nothing changes', async () => {
    const mine = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'audit:read']);
    const { response, error } = await mine.client.POST('/admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate', { params: { path: { tenantId: mine.tenantId, keyId: mine.keyId } } });
    expect(response.status).toBe(403);
    expect(error).toMatchObject({ code: 'forbidden', required_scopes: ['tenants:write'] });
    const keys = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(keys.data!.data).toHaveLength(1);
    expect(keys.data!.data[0]).toMatchObject({ id: mine.keyId, expires_at: null, replaced_by: null, revoked_at: null });
  });

  it('when a key is used, then last_used_at is set', async () => {
    const mine = await tenant(target, ['connections:read']);
    expect(await statusWith(target, mine.apiKey)).toBe(200);
    let lastUsed: string | null = null;
    for (let i = 0; i < 50 && !lastUsed; i++) {
      const keys = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
      lastUsed = keys.data!.data[0]!.last_used_at;
      if (!lastUsed) await sleep(100);
    }
    expect(lastUsed).not.toBeNull();
  });
});
