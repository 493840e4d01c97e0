/** Seed 003 (Codat Sync for Commerce SDK): create a connection by platform key, list with
 * paging and ordering, update authorization, update connection status. Adapted: create by
 * provider only (pending_auth), list with sort=-updated_at and limit, replace credentials
 * (-> active), PATCH status disabled. */
import { describe, expect, it } from 'vitest';
import type { RequestBody } from '@patchbay/client';
import { describeEach, serverTargets, statefulMockTarget } from '../support/targets.js';
import { alnum, tenant } from '../api/factories.js';

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
