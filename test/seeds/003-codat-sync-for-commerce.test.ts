/** Seed 003 (Codat Sync for Commerce SDK): create a connection by platform key, list with
 * paging and ordering, update authorization, update connection status, and getSyncFlowUrl.
 * Adapted: create by provider only (pending_auth), list with sort=-updated_at and limit,
 * replace credentials (-> active), PATCH status disabled. getSyncFlowUrl ("create a new
 * company and connections; get a URL for Sync Flow, including a one time passcode", with an
 * accountingKey and a commerceKey) is createConnectSession with `tenant` by a platform key
 * (Basic auth, as the SDK sends it): a new tenant and a one-time link whose page takes an
 * accounting slot and a commerce (payment) slot; completing the page makes both connections
 * in the new tenant. */
import { describe, expect, it } from 'vitest';
import type { RequestBody } from '@patchbay/client';
import { describeEach, serverTargets, statefulMockTarget } from '../support/targets.js';
import { alnum, secretValue, stripeSecret, tenant } from '../api/factories.js';
import { CONNECT_RETURN_ORIGIN } from '../support/global-setup.js';
import { registerSecret } from '../support/secrets.js';

describeEach(serverTargets())('seed 003 (Codat Sync for Commerce) on the $name', (target) => {
  it('when a connection is created by provider key, listed, authorized and disabled, then each step behaves as in the SDK', async () => {
    const { client } = await tenant(target);
    // create: { platformKey } -> { provider } only: the spec requires nothing else.
    const byKey = (provider: string, extra: { name?: string } = {}): RequestBody<'createConnection'> => ({ provider, ...extra });
    const created = await client.POST('/v1/connections', { body: byKey('hubspot') });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ provider: 'hubspot', name: 'HubSpot', status: 'pending_auth', credentials_summary: {} });
    const other = await client.POST('/v1/connections', { body: byKey('razorpay') });
    const third = await client.POST('/v1/connections', { body: byKey('hubspot', { name: 'HubSpot EU' }) });
    expect([other.response.status, third.response.status]).toEqual([201, 201]);
    expect([other.data!.status, third.data!.status]).toEqual(['pending_auth', 'pending_auth']);

    // updateAuthorization: PUT .../credentials -> active.
    const connectionId = created.data!.id;
    const auth = await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId } }, body: { credentials: { access_token: alnum(48), client_secret: alnum(24) } } });
    expect(auth.response.status).toBe(200);
    expect(auth.data!.status).toBe('active');

    // list: { page, pageSize, orderBy: '-modifiedDate' } -> sort=-updated_at, limit, cursor.
    const first = await client.GET('/v1/connections', { params: { query: { sort: '-updated_at', limit: 2, include_total: true } } });
    expect(first.data!.total_count).toBe(3);
    expect(first.data!.data.map((c) => [c.id, c.status])).toEqual([
      [connectionId, 'active'],
      [third.data!.id, 'pending_auth'],
    ]);
    const second = await client.GET('/v1/connections', { params: { query: { sort: '-updated_at', limit: 2, cursor: first.data!.next_cursor! } } });
    expect(second.data!.data.map((c) => [c.id, c.status])).toEqual([[other.data!.id, 'pending_auth']]);
    expect(second.data!.next_cursor).toBeNull();

    // updateConnection: { status: 'Unlinked' } -> PATCH status disabled.
    const disabled = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId } }, body: { status: 'disabled', status_message: 'unlinked by the merchant' } });
    expect(disabled.response.status).toBe(200);
    expect(disabled.data).toMatchObject({ status: 'disabled', status_message: 'unlinked by the merchant' });
    const afterwards = await client.GET('/v1/connections', { params: { query: { sort: '-updated_at' } } });
    expect(afterwards.data!.data.map((c) => [c.id, c.status])).toEqual([
      [connectionId, 'disabled'],
      [third.data!.id, 'pending_auth'],
      [other.data!.id, 'pending_auth'],
    ]);
  });
});

describeEach(serverTargets())('seed 003 (Codat Sync for Commerce), getSyncFlowUrl, on the $name', (target) => {
  it('when a platform key asks for a sync flow URL for a new company with an accounting and a commerce key, then a new tenant and its one-time link are made, and the page completes both connections in that tenant', async () => {
    const platform = await target.client().POST('/admin/v1/platform-keys', { body: { name: 'sync flow', scopes: ['tenants:write', 'connect_sessions:write', 'connections:read'] } });
    expect(platform.response.status).toBe(201);
    const apiKey = registerSecret(platform.data!.api_key, 'a platform key');
    // getSyncFlowUrl({ accountingKey: 'Manager', commerceKey: 'payment' }), Basic auth as the SDK sends it.
    const basic = { authorization: `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`, 'content-type': 'application/json' };
    const returnUrl = `${CONNECT_RETURN_ORIGIN}/sync-flow/done`;
    const flow = await fetch(`${target.baseUrl}/v1/connect-sessions`, {
      method: 'POST',
      headers: basic,
      body: JSON.stringify({ tenant: { name: `Kestrel Coffee ${alnum(6)}` }, slots: [{ category: 'accounting' }, { category: 'payment_gateway' }], environment: 'test', end_user: { id: 'merchant-1' }, return_url: returnUrl }),
    });
    expect(flow.status).toBe(201);
    const session = (await flow.json()) as { id: string; tenant_id: string; url: string; status: string };
    registerSecret(session.url.split('/').pop()!, 'a connect session token');
    expect(session).toMatchObject({ status: 'pending', tenant_id: expect.stringMatching(/^ten_/) });

    // The merchant opens the link: picks the accounting and the commerce provider, enters both, submits once.
    const link = new URL(new URL(session.url).pathname, target.baseUrl).toString();
    const page = await (await fetch(`${link}?pick0=quickbooks&pick1=stripe`)).text();
    const formToken = /name="form_token" value="([^"]+)"/.exec(page)![1]!;
    const fields = {
      form_token: formToken,
      's0.provider': 'quickbooks',
      's0.c.client_secret': secretValue('qbs_'),
      's0.c.refresh_token': secretValue('qbr_'),
      's0.s.client_id': 'intuit-app-1',
      's0.s.realm_id': '4620816365',
      's1.provider': 'stripe',
      's1.c.secret_key': stripeSecret(),
    };
    const done = await fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const html = await done.text();
    expect(done.status, html).toBe(200);
    const back = new URL(/id="continue" href="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, '&'));
    expect(`${back.origin}${back.pathname}`).toBe(returnUrl);
    const ids = back.searchParams.get('connection_ids')!.split(',');

    // The tenant's backend (here the platform key inside the new tenant) reads the result.
    const inTenant = target.client({ apiKey });
    const headers = { 'X-Tenant-Id': session.tenant_id };
    const read = await inTenant.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } }, headers });
    expect(read.data).toMatchObject({ status: 'completed', connection_ids: ids });
    const listed = await inTenant.GET('/v1/connections', { params: { query: { sort: 'created_at' } }, headers });
    expect(listed.data!.data.map((c) => [c.id, c.provider, c.status])).toEqual([
      [ids[0], 'quickbooks', 'active'],
      [ids[1], 'stripe', 'active'],
    ]);
  });
});

// The stateful mock starts each key's list from the spec's examples, so the exact list of the
// flow above is the server's alone; the unknown provider is refused by both.
describeEach([...serverTargets(), statefulMockTarget()])('seed 003 (Codat Sync for Commerce), provider key, on the $name', (target) => {
  it('when the provider key is unknown, then a 400 points at /provider', async () => {
    const { client } = await tenant(target);
    const { response, error } = await client.POST('/v1/connections', { body: { provider: 'gbol', enabled: true } });
    expect(response.status).toBe(400);
    expect(error!.errors!.map((e) => e.pointer)).toEqual(['/provider']);
  });
});
