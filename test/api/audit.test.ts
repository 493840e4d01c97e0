/** The audit trail (issue 11): credential changes, key creation, rotation and revocation and
 * each use of the bootstrap key are recorded with their actor and the server's own request id
 * (the client's X-Request-Id apart); listAuditEvents filters and pages them, for tenant keys
 * with audit:read and platform principals naming the tenant; never a secret. */
import { expect, it } from 'vitest';
import type { PatchbayClient, QueryParams } from '@patchbay/client';
import { specViolations } from '../support/spec-schema.js';
import { expectNoSecrets, registerSecret } from '../support/secrets.js';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { bearer, signToken } from '../support/tokens.js';
import { alnum, createConnection, stripeSecret, tenant } from './factories.js';

const FULL = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'audit:read'];
type AuditQuery = QueryParams<'listAuditEvents'>;

/** Every entry of the trail the client may read, newest first, paged `limit` at a time. */
async function trail(client: PatchbayClient, query: AuditQuery = {}, limit = 200, headers: Record<string, string> = {}) {
  const entries = [];
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const { response, data, error } = await client.GET('/v1/audit-events', { params: { query: { ...query, limit, ...(cursor ? { cursor } : {}) } }, headers });
    expect(response.status, JSON.stringify(error)).toBe(200);
    expect(specViolations('listAuditEvents', 200, data)).toEqual([]);
    entries.push(...data!.data);
    cursor = data!.next_cursor ?? undefined;
    if (!cursor) break;
  }
  return entries;
}

describeEach(serverTargets())('audit trail on the $name', (target: Target) => {
  const admin = () => target.client();

  it('rejects a caller without a key', async () => {
    expect((await target.client({ apiKey: undefined }).GET('/v1/audit-events', {})).response.status).toBe(401);
  });

  it("when credentials are written, then each change is one entry naming the fields, the key and the server's request id, the client's X-Request-Id apart, never a value", async () => {
    const mine = await tenant(target, FULL);
    const clientId = `client-trace-${alnum(10)}`;
    const traced = target.client({ apiKey: mine.apiKey, headers: { 'X-Request-Id': clientId } });
    const secret = stripeSecret();
    const created = await traced.POST('/v1/connections', { body: { provider: 'stripe', reference: `audit-${alnum(8)}`, credentials: { secret_key: secret } } });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('x-request-id')).toBe(clientId);
    const connectionId = created.data!.id;

    const [entry, ...others] = await trail(mine.client, { action: ['connection.created'] });
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      tenant_id: mine.tenantId,
      action: 'connection.created',
      actor: { type: 'api_key', id: mine.keyId, subject: null },
      target: { type: 'connection', id: connectionId },
      connection_id: connectionId,
      client_request_id: clientId,
    });
    expect(entry!.changed_fields).toContain('credentials.secret_key');
    expect(entry!.request_id).toMatch(/^req_[A-Za-z0-9_-]{8,}$/);
    expect(entry!.request_id).not.toBe(clientId);

    // A rotation of the secret is recorded; a change of priority is not a credential change.
    const rotated = stripeSecret();
    const put = await mine.client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId } }, body: { credentials: { secret_key: rotated } } as never });
    expect(put.response.status).toBe(200);
    const patched = await mine.client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId } }, body: { priority: 7 } });
    expect(patched.response.status).toBe(200);
    const archived = await mine.client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId } } });
    expect(archived.response.status).toBe(200);

    const forConnection = await trail(mine.client, { connection_id: connectionId });
    expect(forConnection.map((e) => e.action)).toEqual(['connection.archived', 'connection.credentials_replaced', 'connection.created']);
    expect(forConnection[1]!.client_request_id).toBeNull();
    expectNoSecrets(forConnection, [secret, rotated, mine.apiKey]);
  });

  it('when an endpoint setting changes, then it is recorded as a credential change', async () => {
    const mine = await tenant(target, FULL);
    const created = await mine.client.POST('/v1/connections', {
      body: { provider: 'pos-connect', reference: `pos-${alnum(8)}`, settings: { base_url: 'https://pos.example.com/api', config: '{"store":1}' }, credentials: { api_key: `pk_${alnum(20)}`, api_secret: `ps_${alnum(20)}` } } as never,
    });
    expect(created.response.status).toBe(201);
    const connectionId = created.data!.id;
    await mine.client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId } }, body: { settings: { base_url: 'https://pos2.example.com/api' } } as never });
    const [latest] = await trail(mine.client, { connection_id: connectionId });
    expect(latest).toMatchObject({ action: 'connection.updated', changed_fields: ['settings.base_url'] });
  });

  it("when keys are created, rotated and revoked, then the tenant's trail names each act and its actor; the bootstrap key's use inside the tenant too", async () => {
    const mine = await tenant(target, FULL);
    const platform = await admin().POST('/admin/v1/platform-keys', { body: { name: 'rotator', scopes: ['tenants:write', 'connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'audit:read'] } });
    registerSecret(platform.data!.api_key, 'a platform key');
    const operator = target.client({ apiKey: platform.data!.api_key });

    const second = await admin().POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: mine.tenantId } }, body: { name: 'second', scopes: ['connections:read'] } });
    registerSecret(second.data!.api_key, 'a second tenant key');
    const rotated = await operator.POST('/admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate', { params: { path: { tenantId: mine.tenantId, keyId: second.data!.id }, query: { overlap_seconds: 60 } } });
    expect(rotated.response.status).toBe(200);
    registerSecret(rotated.data!.new_key.api_key, 'a rotated tenant key');
    await admin().DELETE('/admin/v1/tenants/{tenantId}/api-keys/{keyId}', { params: { path: { tenantId: mine.tenantId, keyId: rotated.data!.new_key.id } } });
    const used = await admin().GET('/v1/connections', { headers: { 'X-Tenant-Id': mine.tenantId } });
    expect(used.response.status).toBe(200);

    const entries = await trail(mine.client);
    const acts = entries.map((e) => `${e.action} ${e.actor.type}:${e.actor.id}`);
    expect(acts).toEqual([
      'bootstrap_key.used bootstrap_admin:null',
      'api_key.revoked bootstrap_admin:null',
      `api_key.rotated api_key:${platform.data!.id}`,
      'api_key.created bootstrap_admin:null',
      'api_key.created bootstrap_admin:null',
      'tenant.created bootstrap_admin:null',
    ]);
    expect(entries[0]!.details).toEqual({ method: 'GET', path: '/v1/connections' });
    expect(entries[2]).toMatchObject({ target: { type: 'api_key', id: second.data!.id }, details: { new_key_id: rotated.data!.new_key.id, overlap_seconds: 60, previous_key_expires_at: rotated.data!.previous_key.expires_at } });
    expect(entries[1]!.target).toEqual({ type: 'api_key', id: rotated.data!.new_key.id });
    expect(entries.every((e) => e.tenant_id === mine.tenantId)).toBe(true);
    expectNoSecrets(entries);
    for (const key of [mine.apiKey, second.data!.api_key, rotated.data!.new_key.api_key, platform.data!.api_key]) expect(JSON.stringify(entries)).not.toContain(key);

    // The platform key reads the same trail by naming the tenant.
    const viaPlatform = await trail(operator, {}, 200, { 'X-Tenant-Id': mine.tenantId });
    expect(viaPlatform.map((e) => e.id)).toEqual(entries.map((e) => e.id));
  });

  it('when the trail is filtered and paged, then each filter holds, every entry comes once, newest first, and a cursor of other filters is a 400', async () => {
    const mine = await tenant(target, FULL);
    const started = new Date(Date.now() - 1000).toISOString();
    const a = await createConnection(mine.client);
    const b = await createConnection(mine.client);
    await mine.client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: a.id } }, body: { credentials: { secret_key: stripeSecret() } } as never });

    const all = await trail(mine.client);
    const paged = await trail(mine.client, {}, 1);
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const times = all.map((e) => e.occurred_at);
    expect([...times].sort().reverse()).toEqual(times);

    expect((await trail(mine.client, { connection_id: a.id })).map((e) => e.action)).toEqual(['connection.credentials_replaced', 'connection.created']);
    expect((await trail(mine.client, { action: ['connection.created', 'connection.credentials_replaced'] })).map((e) => e.connection_id)).toEqual([a.id, b.id, a.id]);
    expect((await trail(mine.client, { actor_id: mine.keyId })).length).toBe(3);
    expect((await trail(mine.client, { actor_type: 'bootstrap_admin' })).map((e) => e.action)).toEqual(['api_key.created', 'tenant.created']);
    expect((await trail(mine.client, { occurred_before: started })).length).toBe(0);
    expect((await trail(mine.client, { occurred_after: new Date(Date.now() + 60_000).toISOString() })).length).toBe(0);

    const first = await mine.client.GET('/v1/audit-events', { params: { query: { limit: 1, connection_id: a.id } } });
    const mixed = await mine.client.GET('/v1/audit-events', { params: { query: { limit: 1, connection_id: b.id, cursor: first.data!.next_cursor! } } });
    expect(mixed.response.status).toBe(400);
    expect(mixed.error!.errors!.map((e) => e.pointer)).toEqual(['/query/cursor']);
  });

  it("when a Bearer token changes a connection, then the change is recorded with the token's subject, even without credentials", async () => {
    const mine = await tenant(target, FULL);
    const token = await signToken({ tenant_id: mine.tenantId, scope: 'connections:read connections:write' }, { subject: 'sync-bot-42' });
    const withToken = target.client({ apiKey: undefined, headers: bearer(token) });
    const connection = await createConnection(mine.client);
    const patched = await withToken.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: connection.id } }, body: { priority: 3 } });
    expect(patched.response.status).toBe(200);
    const [latest] = await trail(mine.client, { connection_id: connection.id });
    expect(latest).toMatchObject({ action: 'connection.updated', actor: { type: 'token', id: null, subject: 'sync-bot-42' }, changed_fields: ['priority'] });
    expect((await trail(mine.client, { actor_id: 'sync-bot-42' })).map((e) => e.id)).toEqual([latest!.id]);
    expect(JSON.stringify(latest)).not.toContain(token);
  });

  it("when the client's auditEvents.list pages the trail, then it yields the entries the raw calls list, and a platform key reads them naming the tenant", async () => {
    const mine = await tenant(target, FULL);
    await createConnection(mine.client);
    await createConnection(mine.client);
    const raw = await trail(mine.client);
    const listed = [];
    for await (const entry of mine.client.auditEvents.list({ limit: 1 })) listed.push(entry.id);
    expect(listed).toEqual(raw.map((e) => e.id));
    const page = await admin().auditEvents.listPage({ action: ['connection.created'] }, { tenantId: mine.tenantId });
    expect(page.data.map((e) => e.action)).toEqual(['connection.created', 'connection.created']);
  });

  it('when a key without audit:read, a tenant key naming a tenant, or a platform key naming none asks, then a 403 or a 400; a tenant key sees only its own tenant', async () => {
    const mine = await tenant(target, FULL);
    const other = await tenant(target, FULL);
    await createConnection(other.client);
    const reader = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write']);

    const noScope = await reader.client.GET('/v1/audit-events', {});
    expect(noScope.response.status).toBe(403);
    expect(noScope.error).toMatchObject({ code: 'forbidden', required_scopes: ['audit:read'] });

    const naming = await mine.client.GET('/v1/audit-events', { headers: { 'X-Tenant-Id': other.tenantId } });
    expect(naming.response.status).toBe(403);

    const platformWithout = await admin().GET('/v1/audit-events', {});
    expect(platformWithout.response.status).toBe(400);
    expect(platformWithout.error!.errors!.map((e) => e.pointer)).toEqual(['/header/x-tenant-id']);

    const own = await trail(mine.client);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((e) => e.tenant_id === mine.tenantId)).toBe(true);
    // Another tenant's connection is not a filter that reveals anything.
    const [otherConnection] = (await trail(other.client, { action: ['connection.created'] })).map((e) => e.connection_id);
    expect(await trail(mine.client, { connection_id: otherConnection! })).toEqual([]);
  });
});
