/** The admin API: tenants and their API keys (shown once, revocable, last_used_at). */
import { describe, expect, it } from 'vitest';
import { walkPages, withCursor } from '../support/pagination.js';
import { specViolations } from '../support/spec-schema.js';
import { describeEach, serverTargets } from '../support/targets.js';
import { tenant } from './factories.js';

describeEach(serverTargets())('admin API on the $name', (target) => {
  const admin = () => target.client();

  it('rejects a caller without a key', async () => {
    const { response } = await target.client({ apiKey: undefined }).GET('/admin/v1/tenants', {});
    expect(response.status).toBe(401);
  });

  it('when a tenant key with every scope a tenant key can hold calls /admin, then a 403 says only a platform key may', async () => {
    const { client } = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write']);
    const { response, error } = await client.GET('/admin/v1/tenants', {});
    expect(response.status).toBe(403);
    expect(error).toMatchObject({ code: 'forbidden', required_scopes: ['tenants:read'] });
    expect(error!.detail).toContain('platform key');
  });

  it('when a tenant key tries to mint a key or a tenant, then a 403 and nothing is created', async () => {
    const mine = await tenant(target);
    const before = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    const minted = await mine.client.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'self-minted', scopes: ['connections:read'] } });
    expect(minted.response.status).toBe(403);
    expect(minted.error).toMatchObject({ code: 'forbidden', required_scopes: ['tenants:write'] });
    const created = await mine.client.POST('/admin/v1/tenants', { body: { name: 'made by a tenant key' } });
    expect(created.response.status).toBe(403);
    const after = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(after.data!.data.map((k) => k.id)).toEqual(before.data!.data.map((k) => k.id));
  });

  it('when a key is asked for with a platform scope or the retired admin scope, then a 400 names the scope and no key is made', async () => {
    const mine = await tenant(target);
    for (const scope of ['admin', 'tenants:write']) {
      const { response, error } = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'too strong', scopes: [scope as never] } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/scopes/0']);
    }
    const keys = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } } });
    expect(keys.data!.data).toHaveLength(1);
  });

  it('when tenants are created and listed in pages of 2, then the pages are at most 2 long, never repeat one, and reach every new tenant', async () => {
    const created: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response, data } = await admin().POST('/admin/v1/tenants', { body: { name: `paging ${i}` } });
      expect(response.status).toBe(201);
      expect(specViolations('createTenant', 201, data)).toEqual([]);
      created.push(data!.id);
    }
    // The first 3 pages in twos; then, not to walk every tenant of the suite two at a time, the
    // same cursor chain in pages of 200, until the new tenants have been seen.
    const list = (limit: number) => (cursor: string | undefined) => admin().GET('/admin/v1/tenants', { params: { query: { limit, ...withCursor(cursor) } } });
    let pagesOfTwo = 0;
    const first = await walkPages(list(2), { limit: 2, until: () => ++pagesOfTwo >= 3 });
    const seen = first.items.map((t) => t.id);
    if (first.next) {
      const rest = await walkPages(list(200), { from: first.next, limit: 200, maxPages: 20, until: (items) => created.every((id) => seen.includes(id) || (items as { id: string }[]).some((t) => t.id === id)) });
      seen.push(...rest.items.map((t) => t.id));
    }
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(created));
  });

  it('when a key is created, then api_key is shown once and never listed', async () => {
    const { data: t } = await admin().POST('/admin/v1/tenants', { body: { name: 'keys' } });
    const { response, data } = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: t!.id } }, body: { name: 'ci', scopes: ['connections:read'] } });
    expect(response.status).toBe(201);
    expect(specViolations('createApiKey', 201, data)).toEqual([]);
    expect(data!.api_key).toMatch(/^pb_/);
    expect(data!.api_key.startsWith(data!.prefix)).toBe(true);
    const list = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: t!.id } } });
    expect(specViolations('listApiKeys', 200, list.data)).toEqual([]);
    expect(list.data!.data.map((k) => k.id)).toEqual([data!.id]);
    expect(JSON.stringify(list.data)).not.toContain(data!.api_key);
    expect(list.data!.data[0]).not.toHaveProperty('api_key');
  });

  it('when a key is revoked, then it gets a 401 at once', async () => {
    const { client, tenantId, keyId } = await tenant(target);
    expect((await client.GET('/v1/connections', {})).response.status).toBe(200);
    const { response, data } = await admin().DELETE('/admin/v1/tenants/{tenantId}/api-keys/{keyId}', { params: { path: { tenantId, keyId } } });
    expect(response.status).toBe(200);
    expect(data!.revoked_at).not.toBeNull();
    expect((await client.GET('/v1/connections', {})).response.status).toBe(401);
  });

  it('when a key is used, then last_used_at is set', async () => {
    const { client, tenantId, keyId } = await tenant(target);
    const before = await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId } } });
    expect(before.data!.data.find((k) => k.id === keyId)!.last_used_at).toBeNull();
    await client.GET('/v1/connections', {});
    await expect
      .poll(async () => (await admin().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId } } })).data!.data.find((k) => k.id === keyId)!.last_used_at, { timeout: 5000 })
      .not.toBeNull();
  });

  it('when a key is created for an unknown tenant, then a 404', async () => {
    const { response } = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: 'ten_00000000000000000000000000' } }, body: { name: 'x', scopes: ['connections:read'] } });
    expect(response.status).toBe(404);
  });
});
