/** Tenancy (404 across tenants), scopes (403 with required_scopes), X-Tenant-Id for platform principals only. */
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { buildConnection, createConnection, tenant } from './factories.js';

describeEach(serverTargets())('tenancy and auth on the $name', (target) => {
  describe('another tenant', () => {
    it("when a tenant asks for another tenant's connection, then get, patch, delete, events and sync-runs are 404s", async () => {
      const owner = await tenant(target);
      const stranger = await tenant(target);
      const c = await createConnection(owner.client);
      const path = { path: { connectionId: c.id } };
      const answers = [
        await stranger.client.GET('/v1/connections/{connectionId}', { params: path }),
        await stranger.client.PATCH('/v1/connections/{connectionId}', { params: path, body: { name: 'mine now' } }),
        await stranger.client.DELETE('/v1/connections/{connectionId}', { params: path }),
        await stranger.client.GET('/v1/connections/{connectionId}/events', { params: path }),
        await stranger.client.POST('/v1/connections/{connectionId}/sync-runs', { params: path, body: { outcome: 'succeeded' } }),
      ];
      expect(answers.map((a) => a.response.status)).toEqual([404, 404, 404, 404, 404]);
      const list = await stranger.client.GET('/v1/connections', {});
      expect(list.data!.data).toEqual([]);
      const still = await owner.client.GET('/v1/connections/{connectionId}', { params: path });
      expect(still.data).toMatchObject({ name: c.name, status: 'active' });
    });
  });

  describe('scopes', () => {
    it('when a key without connections:write creates a connection, then a 403 names the required scope', async () => {
      const { client } = await tenant(target, ['connections:read']);
      const { response, error } = await client.POST('/v1/connections', { body: buildConnection() });
      expect(response.status).toBe(403);
      expect(error).toMatchObject({ code: 'forbidden', required_scopes: ['connections:write'] });
    });

    it('when a key has only connections:read, then it can list and get', async () => {
      const writer = await tenant(target);
      const c = await createConnection(writer.client);
      const admin = target.client();
      const readKey = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: writer.tenantId } }, body: { name: 'reader', scopes: ['connections:read'] } });
      const reader = target.client({ apiKey: readKey.data!.api_key });
      const list = await reader.GET('/v1/connections', {});
      expect(list.response.status).toBe(200);
      expect(list.data!.data.map((x) => x.id)).toEqual([c.id]);
      const got = await reader.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(got.response.status).toBe(200);
    });

    it('when a key without credentials:write replaces credentials, then a 403 names credentials:write', async () => {
      const writer = await tenant(target);
      const c = await createConnection(writer.client);
      const limited = await target.client().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: writer.tenantId } }, body: { name: 'no creds', scopes: ['connections:read', 'connections:write'] } });
      const client = target.client({ apiKey: limited.data!.api_key });
      const { response, error } = await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: c.id } }, body: { credentials: { secret_key: 'sk_test_abcdefghijklmnop' } } });
      expect(response.status).toBe(403);
      expect(error).toMatchObject({ required_scopes: ['credentials:write'] });
    });
  });

  describe('X-Tenant-Id', () => {
    it('when a tenant key sends X-Tenant-Id, then a 403', async () => {
      const a = await tenant(target);
      const b = await tenant(target);
      const client = target.client({ apiKey: a.apiKey, headers: { 'X-Tenant-Id': b.tenantId } });
      const { response, error } = await client.GET('/v1/connections', {});
      expect(response.status).toBe(403);
      expect(error).toMatchObject({ code: 'forbidden' });
    });

    it('when the bootstrap admin key names a tenant, then it acts inside that tenant', async () => {
      const owner = await tenant(target);
      const c = await createConnection(owner.client);
      const admin = target.client({ headers: { 'X-Tenant-Id': owner.tenantId } });
      const list = await admin.GET('/v1/connections', {});
      expect(list.data!.data.map((x) => x.id)).toEqual([c.id]);
      const created = await admin.POST('/v1/connections', { body: buildConnection() });
      expect(created.response.status).toBe(201);
      expect(created.data!.created_by).toEqual({ type: 'bootstrap_admin', id: null });
      const seen = await owner.client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } } });
      expect(seen.response.status).toBe(200);
    });

    it('when the admin key sends no X-Tenant-Id on /v1/connections, then a 400 points at /header/x-tenant-id', async () => {
      const { response, error } = await target.client().GET('/v1/connections', {});
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/header/x-tenant-id']);
    });

    it('when the admin key names an unknown tenant, then a 404', async () => {
      const { response } = await target.client({ headers: { 'X-Tenant-Id': 'ten_00000000000000000000000000' } }).GET('/v1/connections', {});
      expect(response.status).toBe(404);
    });

    it('when the admin key names an unknown tenant on the admin API, which acts on no tenant, then the header is ignored', async () => {
      const admin = target.client({ headers: { 'X-Tenant-Id': 'ten_00000000000000000000000000' } });
      const created = await admin.POST('/admin/v1/tenants', { body: { name: 'made while a client still names an old tenant' } });
      expect(created.response.status).toBe(201);
      const listed = await admin.GET('/admin/v1/tenants', {});
      expect(listed.response.status).toBe(200);
    });

    it('when a tenant key with every scope names another tenant, then a 403 and it reads nothing there', async () => {
      const owner = await tenant(target);
      const c = await createConnection(owner.client);
      const other = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write']);
      const client = target.client({ apiKey: other.apiKey, headers: { 'X-Tenant-Id': owner.tenantId } });
      const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(got.response.status).toBe(403);
      expect(got.error!.errors!.map((e) => e.pointer)).toEqual(['/header/x-tenant-id']);
      expect(JSON.stringify(got.error)).not.toContain(c.name);
      const listed = await client.GET('/v1/connections', {});
      expect(listed.response.status).toBe(403);
    });
  });
});
