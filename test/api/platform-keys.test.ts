/** Platform keys (issue 11): stored, scoped, expiring, rotatable and revocable keys of the
 * operator. Only platform principals manage them, none hands out rights it lacks, and a
 * tenant key gets 403 on every one of their operations and changes nothing. */
import { expect, it } from 'vitest';
import { specViolations } from '../support/spec-schema.js';
import { registerSecret } from '../support/secrets.js';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { createConnection, tenant } from './factories.js';

type PlatformScope = 'tenants:read' | 'tenants:write' | 'platform_keys:read' | 'platform_keys:write' | 'connections:read' | 'connections:write' | 'credentials:write' | 'audit:read';

/** A platform key made by the bootstrap key (or by `by`), registered as a secret. */
async function platformKey(target: Target, scopes: PlatformScope[], by = target.client()) {
  const { response, data, error } = await by.POST('/admin/v1/platform-keys', { body: { name: `platform ${scopes.join(' ')}`, scopes } });
  expect(response.status, JSON.stringify(error)).toBe(201);
  registerSecret(data!.api_key, 'a platform key');
  return { ...data!, client: target.client({ apiKey: data!.api_key }) };
}

const platformKeyIds = async (target: Target) => {
  const { data } = await target.client().GET('/admin/v1/platform-keys', { params: { query: { limit: 200 } } });
  const ids = data!.data.map((k) => k.id);
  let cursor = data!.next_cursor;
  while (cursor) {
    const page = await target.client().GET('/admin/v1/platform-keys', { params: { query: { limit: 200, cursor } } });
    ids.push(...page.data!.data.map((k) => k.id));
    cursor = page.data!.next_cursor;
  }
  return ids;
};

describeEach(serverTargets())('platform keys on the $name', (target) => {
  it('rejects a caller without a key', async () => {
    expect((await target.client({ apiKey: undefined }).GET('/admin/v1/platform-keys', {})).response.status).toBe(401);
    expect((await target.client({ apiKey: undefined }).POST('/admin/v1/platform-keys', { body: { name: 'x', scopes: ['tenants:read'] } })).response.status).toBe(401);
  });

  it('when the bootstrap key creates a platform key, then it is shown once, listed without the key, and acts as a platform principal', async () => {
    const key = await platformKey(target, ['tenants:read', 'tenants:write', 'connections:read']);
    const { client: _client, ...body } = key;
    expect(specViolations('createPlatformKey', 201, body)).toEqual([]);
    expect(key.api_key).toMatch(/^pbp_/);
    expect(key.api_key.startsWith(key.prefix)).toBe(true);
    expect(key).not.toHaveProperty('tenant_id');

    const list = await target.client().GET('/admin/v1/platform-keys', { params: { query: { limit: 200 } } });
    expect(specViolations('listPlatformKeys', 200, list.data)).toEqual([]);
    expect(JSON.stringify(list.data)).not.toContain(key.api_key);

    // It calls the admin API with its scopes ...
    const created = await key.client.POST('/admin/v1/tenants', { body: { name: 'made by a platform key' } });
    expect(created.response.status).toBe(201);
    expect((await key.client.GET('/admin/v1/tenants', {})).response.status).toBe(200);
    // ... acts inside the tenant it names, with the tenant scopes it holds ...
    const other = await tenant(target);
    const connection = await createConnection(other.client);
    const read = await key.client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: connection.id } }, headers: { 'X-Tenant-Id': other.tenantId } });
    expect(read.response.status).toBe(200);
    // ... and nothing beyond them.
    const write = await key.client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: connection.id } }, headers: { 'X-Tenant-Id': other.tenantId } });
    expect(write.response.status).toBe(403);
    expect((await key.client.GET('/admin/v1/platform-keys', {})).response.status).toBe(403);
    // Basic works too.
    const basic = await fetch(`${target.baseUrl}/admin/v1/tenants`, { headers: { Authorization: `Basic ${Buffer.from(`${key.api_key}:`).toString('base64')}` } });
    expect(basic.status).toBe(200);
  });

  it('when a platform key creates, rotates or revokes a key with a scope it lacks itself, then a 403 names the scope and nothing changes', async () => {
    const manager = await platformKey(target, ['platform_keys:read', 'platform_keys:write', 'tenants:read']);
    const before = await platformKeyIds(target);
    const escalate = await manager.client.POST('/admin/v1/platform-keys', { body: { name: 'stronger', scopes: ['tenants:read', 'tenants:write'] } });
    expect(escalate.response.status).toBe(403);
    expect(escalate.error).toMatchObject({ code: 'forbidden', required_scopes: ['tenants:write'] });

    const stronger = await platformKey(target, ['tenants:write']);
    const rotate = await manager.client.POST('/admin/v1/platform-keys/{keyId}/rotate', { params: { path: { keyId: stronger.id } } });
    expect(rotate.response.status).toBe(403);
    const revoke = await manager.client.DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: stronger.id } } });
    expect(revoke.response.status).toBe(403);
    expect(await platformKeyIds(target)).toEqual([...before, stronger.id]);
    expect((await stronger.client.GET('/admin/v1/tenants', {})).response.status).toBe(403); // tenants:read it lacks
    expect((await stronger.client.POST('/admin/v1/tenants', { body: { name: 'still works' } })).response.status).toBe(201);

    // Within its own scopes it may: a weaker key, made and revoked by the manager.
    const weaker = await platformKey(target, ['tenants:read'], manager.client);
    const revoked = await manager.client.DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: weaker.id } } });
    expect(revoked.response.status).toBe(200);
  });

  it('when a platform key with tenants:write mints a tenant key, then only with tenant scopes it holds itself', async () => {
    const minter = await platformKey(target, ['tenants:write', 'connections:read']);
    const mine = await tenant(target);
    const strong = await minter.client.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'strong', scopes: ['connections:read', 'credentials:write'] } });
    expect(strong.response.status).toBe(403);
    expect(strong.error).toMatchObject({ required_scopes: ['credentials:write'] });
    const weak = await minter.client.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'weak', scopes: ['connections:read'] } });
    expect(weak.response.status).toBe(201);
    registerSecret(weak.data!.api_key, 'a tenant key minted by a platform key');
  });

  it('when a platform key is revoked, then it gets a 401 at once; revoking again answers the same', async () => {
    const key = await platformKey(target, ['tenants:read']);
    expect((await key.client.GET('/admin/v1/tenants', {})).response.status).toBe(200);
    const { response, data } = await target.client().DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: key.id } } });
    expect(response.status).toBe(200);
    expect(specViolations('revokePlatformKey', 200, data)).toEqual([]);
    expect(data!.revoked_at).not.toBeNull();
    expect((await key.client.GET('/admin/v1/tenants', {})).response.status).toBe(401);
    const again = await target.client().DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: key.id } } });
    expect(again.data!.revoked_at).toBe(data!.revoked_at);
  });

  it('when a platform key is rotated, then the new key works, and the old one stops at the end of the overlap', async () => {
    const key = await platformKey(target, ['tenants:read']);
    const { response, data } = await target.client().POST('/admin/v1/platform-keys/{keyId}/rotate', { params: { path: { keyId: key.id }, query: { overlap_seconds: 0 } } });
    expect(response.status).toBe(200);
    expect(specViolations('rotatePlatformKey', 200, data)).toEqual([]);
    registerSecret(data!.new_key.api_key, 'a rotated platform key');
    expect(data!.previous_key).toMatchObject({ id: key.id, replaced_by: data!.new_key.id });
    expect((await key.client.GET('/admin/v1/tenants', {})).response.status).toBe(401);
    expect((await target.client({ apiKey: data!.new_key.api_key }).GET('/admin/v1/tenants', {})).response.status).toBe(200);
  });

  it("when a tenant key's id is used as a platform key's, then a 404: the two kinds never mix", async () => {
    const mine = await tenant(target);
    const { response } = await target.client().DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: mine.keyId } } });
    expect(response.status).toBe(404);
    expect(await target.client({ apiKey: mine.apiKey }).GET('/v1/connections', {}).then((r) => r.response.status)).toBe(200);
  });

  it('when a tenant key with every tenant scope calls each platform-key operation, then a 403 and nothing changes', async () => {
    const mine = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'audit:read']);
    const victim = await platformKey(target, ['tenants:read']);
    const before = await platformKeyIds(target);
    const calls = [
      mine.client.GET('/admin/v1/platform-keys', {}),
      mine.client.POST('/admin/v1/platform-keys', { body: { name: 'self-made', scopes: ['tenants:read'] } }),
      mine.client.DELETE('/admin/v1/platform-keys/{keyId}', { params: { path: { keyId: victim.id } } }),
      mine.client.POST('/admin/v1/platform-keys/{keyId}/rotate', { params: { path: { keyId: victim.id } } }),
    ];
    for (const { response, error } of await Promise.all(calls)) {
      expect(response.status).toBe(403);
      expect(error!.detail).toContain('platform key');
    }
    expect(await platformKeyIds(target)).toEqual(before);
    expect((await victim.client.GET('/admin/v1/tenants', {})).response.status).toBe(200);
  });
});
