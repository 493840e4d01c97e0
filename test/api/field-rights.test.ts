/** Field-level rights: writing credentials, or a setting the provider marks as an endpoint
 * (where the secrets would be sent), needs credentials:write on every route; reporting sync
 * runs needs only sync_runs:write; a key may also come as `Authorization: Basic`. */
import { describe, expect, it } from 'vitest';
import type { PatchbayClient } from '@patchbay/client';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { alnum, createConnection, stripeSecret, tenant, uniqueRef, type Connection } from './factories.js';

const WRITER = ['connections:read', 'connections:write'];

const posBody = (overrides: Record<string, unknown> = {}) => ({
  provider: 'pos-connect',
  reference: uniqueRef('pos'),
  settings: { base_url: 'https://pos.example.com/api', config: '{"store":1}' },
  credentials: { api_key: `pk_${alnum(20)}`, api_secret: `ps_${alnum(20)}` },
  ...overrides,
});

/** A tenant with a full key (to set things up and check them) and a key that may not write credentials. */
async function twoKeys(target: Target) {
  const full = await tenant(target);
  const admin = target.client();
  const limited = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: full.tenantId } }, body: { name: 'writer without credentials', scopes: WRITER as never } });
  expect(limited.response.status).toBe(201);
  return { full: full.client, writer: target.client({ apiKey: limited.data!.api_key }), tenantId: full.tenantId };
}

function expectCredentialsWriteNeeded(answer: { response: Response; error?: unknown }, pointers: string[]) {
  expect(answer.response.status).toBe(403);
  expect(answer.error).toMatchObject({ code: 'forbidden', required_scopes: ['credentials:write'] });
  expect((answer.error as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toEqual(pointers);
}

async function expectUnchanged(client: PatchbayClient, before: Connection) {
  const now = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: before.id } } });
  expect(now.data).toEqual(before);
}

describeEach(serverTargets())('field-level rights on the $name', (target) => {
  describe('without credentials:write', () => {
    it('when a create carries credentials, then a 403 names /credentials and nothing is created', async () => {
      const { writer, full } = await twoKeys(target);
      const body = { provider: 'stripe' as const, reference: uniqueRef(), credentials: { secret_key: stripeSecret() } };
      expectCredentialsWriteNeeded(await writer.POST('/v1/connections', { body }), ['/credentials']);
      const listed = await full.GET('/v1/connections', { params: { query: { q: body.reference } } });
      expect(listed.data!.data).toEqual([]);
    });

    it('when a create carries invalid credentials, then it is still the 403: secrets are not validated for a caller who may not write them', async () => {
      const { writer } = await twoKeys(target);
      const answer = await writer.POST('/v1/connections', { body: { provider: 'stripe', reference: uniqueRef(), credentials: { secret_key: 'not-a-stripe-key' } } });
      expectCredentialsWriteNeeded(answer, ['/credentials']);
    });

    it('when a create sets an endpoint setting, then a 403 names that setting; without one it is a 201', async () => {
      const { writer } = await twoKeys(target);
      const { credentials: _, ...withoutCredentials } = posBody();
      expectCredentialsWriteNeeded(await writer.POST('/v1/connections', { body: withoutCredentials as never }), ['/settings/base_url']);
      const plain = await writer.POST('/v1/connections', { body: { provider: 'stripe', reference: uniqueRef() } });
      expect(plain.response.status).toBe(201);
      expect(plain.data!.status).toBe('pending_auth');
    });

    it('when a PATCH writes credentials, or nulls them, then a 403 and the connection is unchanged', async () => {
      const { writer, full } = await twoKeys(target);
      const c = await createConnection(full);
      expectCredentialsWriteNeeded(await writer.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { credentials: { secret_key: stripeSecret() } } }), ['/credentials']);
      expectCredentialsWriteNeeded(await writer.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { credentials: null } as never }), ['/credentials']);
      await expectUnchanged(full, c);
    });

    it('when a PATCH points an endpoint setting at another host, then a 403 and the connection is unchanged; other settings may change', async () => {
      const { writer, full } = await twoKeys(target);
      const created = await full.POST('/v1/connections', { body: posBody() as never });
      expect(created.response.status).toBe(201);
      const c = created.data!;
      for (const settings of [{ base_url: 'https://attacker.example.net/api' }, { webhook_url: 'https://attacker.example.net/hook' }]) {
        const answer = await writer.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { settings } as never });
        expectCredentialsWriteNeeded(answer, [`/settings/${Object.keys(settings)[0]}`]);
      }
      await expectUnchanged(full, c);
      const same = await writer.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { settings: { base_url: c.settings.base_url, config: '{"store":2}' } } as never });
      expect(same.response.status).toBe(200);
      expect(same.data!.settings).toMatchObject({ base_url: 'https://pos.example.com/api', config: '{"store":2}' });
    });

    it('when a PUT replaces credentials or moves an endpoint, then a 403 and the connection is unchanged', async () => {
      const { writer, full } = await twoKeys(target);
      const created = await full.POST('/v1/connections', { body: posBody() as never });
      const c = created.data!;
      const replace = (body: Record<string, unknown>) => writer.PUT('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { provider: 'pos-connect', reference: c.reference, name: c.name, environment: c.environment, ...body } as never });
      expectCredentialsWriteNeeded(await replace({ settings: c.settings, credentials: { api_key: 'k'.repeat(20), api_secret: 's'.repeat(20) } }), ['/credentials']);
      expectCredentialsWriteNeeded(await replace({ settings: { ...c.settings, base_url: 'https://attacker.example.net/' } }), ['/settings/base_url']);
      await expectUnchanged(full, c);
    });

    it('when an upsert carries credentials, whether it creates or updates, then a 403 and nothing changes', async () => {
      const { writer, full } = await twoKeys(target);
      const reference = uniqueRef('pos');
      const upsert = (client: PatchbayClient, body: Record<string, unknown>) =>
        client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'pos-connect', reference } }, body: body as never });
      const { provider: _p, reference: _r, ...body } = posBody();
      expectCredentialsWriteNeeded(await upsert(writer, { credentials: body.credentials }), ['/credentials']);
      const none = await full.GET('/v1/connections', { params: { query: { q: reference } } });
      expect(none.data!.data).toEqual([]);
      const created = await upsert(full, body);
      expect(created.response.status).toBe(201);
      expectCredentialsWriteNeeded(await upsert(writer, { credentials: { api_key: 'k'.repeat(20), api_secret: 's'.repeat(20) } }), ['/credentials']);
      await expectUnchanged(full, created.data as Connection);
    });
  });

  describe('with credentials:write', () => {
    it('when the same writes come from a key that holds it, then they succeed', async () => {
      const { full } = await twoKeys(target);
      const created = await full.POST('/v1/connections', { body: posBody() as never });
      expect(created.response.status).toBe(201);
      const moved = await full.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } }, body: { settings: { base_url: 'https://pos2.example.com/api' }, credentials: { api_key: `pk_${alnum(20)}` } } as never });
      expect(moved.response.status).toBe(200);
      expect(moved.data!.settings.base_url).toBe('https://pos2.example.com/api');
    });
  });

  describe('sync workers', () => {
    it('when a key holds only sync_runs:write, then it reports runs and may change nothing else', async () => {
      const owner = await tenant(target);
      const c = await createConnection(owner.client);
      const key = await target.client().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: owner.tenantId } }, body: { name: 'sync worker', scopes: ['sync_runs:write'] } });
      const client = target.client({ apiKey: key.data!.api_key });
      const run = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'succeeded' } });
      expect(run.response.status).toBe(201);
      const patch = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { name: 'renamed by a worker' } });
      expect(patch.response.status).toBe(403);
      expect(patch.error).toMatchObject({ required_scopes: ['connections:write'] });
    });

    it('when a key holds connections:write but not sync_runs:write, then reporting a run is a 403 naming sync_runs:write', async () => {
      const owner = await tenant(target);
      const c = await createConnection(owner.client);
      const key = await target.client().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: owner.tenantId } }, body: { name: 'writer', scopes: WRITER as never } });
      const client = target.client({ apiKey: key.data!.api_key });
      const run = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId: c.id } }, body: { outcome: 'failed', error: { message: 'x' } } });
      expect(run.response.status).toBe(403);
      expect(run.error).toMatchObject({ code: 'forbidden', required_scopes: ['sync_runs:write'] });
      const after = await owner.client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(after.data).toEqual(c);
    });
  });

  describe('Authorization: Basic', () => {
    const basic = (user: string, password = '') => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const get = (authorization: string) => fetch(new URL('/v1/connections', target.baseUrl), { headers: { Authorization: authorization } });

    it('when the key is sent as the Basic user name (Codat SDK) or as the password, then it authenticates', async () => {
      const { apiKey } = await tenant(target);
      expect((await get(basic(apiKey))).status).toBe(200);
      expect((await get(basic('', apiKey))).status).toBe(200);
    });

    it('when Basic carries an unknown key, then a 401 problem', async () => {
      const answer = await get(basic(`pb_${alnum(43)}`));
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    });
  });
});
