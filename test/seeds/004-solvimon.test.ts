/** Seed 004 (Solvimon): update an integration's reference, name, description, status and
 * linked platform resources (each with its status and message), "API key OR Bearer", with
 * the INTEGRATION.UPDATE permission and the x-platform-id header. Adapted: PATCH
 * /v1/connections/{id} with a Bearer token whose `platform_id` claim names the tenant and
 * whose `permissions` the server maps (INTEGRATION.UPDATE -> connections:write and
 * credentials:write, INTEGRATION.VIEW -> connections:read: support/jwks-server.ts); listing
 * filtered by linked object; the bootstrap admin key acting in the tenant through X-Tenant-Id. */
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { bearer, signToken } from '../support/tokens.js';
import { alnum, createConnection, tenant, uniqueRef } from '../api/factories.js';

describeEach(serverTargets())('seed 004 (Solvimon) on the $name', (target) => {
  it('when an integration is updated with reference, name, description, status and linked resources, then they are stored and filterable by linked object', async () => {
    const { client, tenantId } = await tenant(target);
    const created = await createConnection(client, { provider: 'sendgrid', credentials: { api_key: `SG.${alnum(22)}.${alnum(43)}` }, settings: { from_email: 'billing@acme.example' } });
    await createConnection(client); // an unlinked one
    // The seed's Bearer token: its platform_id claim names the tenant, INTEGRATION.UPDATE lets it update.
    const token = await signToken({ platform_id: tenantId, permissions: ['INTEGRATION.VIEW', 'INTEGRATION.UPDATE'] }, { subject: 'usr_solvimon_ops' });
    const platform = target.client({ apiKey: undefined, headers: bearer(token) });
    const reference = uniqueRef('email-provider');
    const customerId = `cust_${alnum(12)}`;
    const { response, data, error } = await platform.PATCH('/v1/connections/{connectionId}', {
      params: { path: { connectionId: created.id } },
      body: {
        reference,
        name: 'Invoice e-mails',
        description: 'Sends invoices to customers',
        status: 'disabled',
        status_message: 'waiting for DKIM',
        linked_resources: [
          { object_type: 'customer', object_id: customerId, status: 'active' },
          { object_type: 'pricing_plan', object_id: 'plan_basic', status: 'error', status_message: 'currency not supported' },
        ],
      },
    });
    expect(response.status, JSON.stringify(error)).toBe(200);
    expect(data).toMatchObject({ reference, name: 'Invoice e-mails', description: 'Sends invoices to customers', status: 'disabled', status_message: 'waiting for DKIM' });
    expect(data!.linked_resources).toEqual([
      { object_type: 'customer', object_id: customerId, status: 'active', status_message: null },
      { object_type: 'pricing_plan', object_id: 'plan_basic', status: 'error', status_message: 'currency not supported' },
    ]);
    expect(data!.updated_by).toEqual({ type: 'token', id: null, subject: 'usr_solvimon_ops' });

    const byObject = await client.GET('/v1/connections', { params: { query: { linked_object_type: 'customer', linked_object_id: customerId } } });
    expect(byObject.data!.data.map((c) => c.id)).toEqual([created.id]);
    const byType = await client.GET('/v1/connections', { params: { query: { linked_object_type: 'pricing_plan' } } });
    expect(byType.data!.data.map((c) => c.id)).toEqual([created.id]);
    const none = await client.GET('/v1/connections', { params: { query: { linked_object_id: 'nobody' } } });
    expect(none.data!.data).toEqual([]);

    // linked_resources are replaced as a whole.
    const replaced = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { linked_resources: [{ object_type: 'customer', object_id: customerId, status: 'pending' }] } });
    expect(replaced.data!.linked_resources).toEqual([{ object_type: 'customer', object_id: customerId, status: 'pending', status_message: null }]);
  });

  it('when the same linked object is given twice, then a 400 points at the duplicate', async () => {
    const { client } = await tenant(target);
    const created = await createConnection(client);
    const link = { object_type: 'customer', object_id: 'cust_1', status: 'active' as const };
    const { response, error } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { linked_resources: [link, link] } });
    expect(response.status).toBe(400);
    expect(error!.errors!.map((e) => e.pointer)).toEqual(['/linked_resources/1']);
  });

  it('when a key without the INTEGRATION.UPDATE-like connections:write scope updates, then a 403', async () => {
    const { client } = await tenant(target, ['connections:read']);
    const { response } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: 'conn_01jd5qaz8x3k7m2n4p6r8t0vwy' } }, body: { name: 'x' } });
    expect(response.status).toBe(403);
  });

  it('when a token with only INTEGRATION.VIEW updates an integration, then a 403 names connections:write and nothing changes', async () => {
    const { client, tenantId } = await tenant(target);
    const created = await createConnection(client);
    const viewer = target.client({ apiKey: undefined, headers: bearer(await signToken({ platform_id: tenantId, permissions: ['INTEGRATION.VIEW'] })) });
    const read = await viewer.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } } });
    expect(read.data!.name).toBe(created.name);
    const { response, error } = await viewer.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { name: 'renamed' } });
    expect(response.status).toBe(403);
    expect(error).toMatchObject({ code: 'forbidden', required_scopes: ['connections:write'] });
    expect((await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } } })).data!.name).toBe(created.name);
  });

  it('when the platform key names the tenant with X-Tenant-Id (the x-platform-id of an operator), then it updates as bootstrap_admin', async () => {
    const { client, tenantId } = await tenant(target);
    const created = await createConnection(client);
    const platform = target.client({ headers: { 'X-Tenant-Id': tenantId } });
    const { data } = await platform.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { status: 'disabled' } });
    expect(data).toMatchObject({ status: 'disabled', updated_by: { type: 'bootstrap_admin', id: null } });
  });
});
