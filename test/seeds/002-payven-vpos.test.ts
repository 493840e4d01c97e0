/** Seed 002 (Payven vPOS): `PUT /api/v1/connector-configurations/{id}` with the bank's
 * credentials (api_key, secret_key, username, password, extra_credentials), terminal_id,
 * store_id, bank_code, api_endpoint_url, 3-D Secure URL, Test/Production mode, priority and
 * is_active. Adapted: payven-vpos connections (credentials + settings + environment +
 * priority + enabled), replaced with PUT, and the default connection picked among them.
 * As in the seed, every call carries `Authorization: Bearer <token>`: a Keycloak-style JWT
 * from the identity provider the server trusts, naming the tenant in `tenant_id` and its
 * rights in `scope` (support/tokens.ts). */
import { describe, expect, it } from 'vitest';
import type { PatchbayClient } from '@patchbay/client';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { bearer, signToken } from '../support/tokens.js';
import { alnum, createConnection, expectNoSecrets, tenant, uniqueRef } from '../api/factories.js';

const bankCredentials = () => ({ username: `vpos_${alnum(8)}`, password: alnum(20), api_key: alnum(32), secret_key: alnum(32), extra_credentials: JSON.stringify({ merchant_safe_id: alnum(16) }) });
const bankSettings = (terminal: string) => ({
  terminal_id: terminal,
  store_id: '700655000200',
  bank_code: '0062',
  api_endpoint_url: 'https://sanalposprovtest.garanti.com.tr/VPServlet',
  three_d_secure_url: 'https://sanalposprovtest.garanti.com.tr/servlet/gt3dengine',
});

/** A Payven merchant's back office: a tenant, and a client sending its Keycloak JWT as a Bearer token. */
async function payvenUser(target: Target): Promise<{ client: PatchbayClient; tenantId: string }> {
  const { tenantId } = await tenant(target);
  const token = await signToken(
    { tenant_id: tenantId, scope: 'openid profile connections:read connections:write credentials:write', azp: 'payven-backoffice', preferred_username: 'merchant.admin' },
    { subject: 'f1c5e0a2-7b61-4f3e-9d1a-2c7b9e8d4a10' },
  );
  return { tenantId, client: target.client({ apiKey: undefined, headers: bearer(token) }) };
}

async function defaultIn(client: PatchbayClient, environment: 'test' | 'production') {
  return client.GET('/v1/providers/{slug}/default-connection', { params: { path: { slug: 'payven-vpos' }, query: { environment } } });
}

describeEach(serverTargets())('seed 002 (Payven vPOS) on the $name', (target) => {
  it('when a bank vPOS configuration is replaced with credentials, settings, mode, priority and active flag, then it is stored without echoing secrets', async () => {
    const { client } = await payvenUser(target);
    const created = await createConnection(client, { provider: 'payven-vpos', credentials: {}, settings: bankSettings('30691297'), environment: 'test' });
    expect(created.status).toBe('pending_auth');
    const credentials = bankCredentials();
    const { response, data, error } = await client.PUT('/v1/connections/{connectionId}', {
      params: { path: { connectionId: created.id } },
      body: { provider: 'payven-vpos', reference: created.reference, name: 'Garanti BBVA sanal POS', environment: 'test', priority: 123, enabled: true, credentials, settings: { ...bankSettings('30691298'), extra_properties: { installment: 'true' } } },
    });
    expect(response.status, JSON.stringify(error)).toBe(200);
    expect(data).toMatchObject({ name: 'Garanti BBVA sanal POS', environment: 'test', priority: 123, enabled: true, status: 'active', settings: { terminal_id: '30691298', bank_code: '0062', three_d_secure_url: 'https://sanalposprovtest.garanti.com.tr/servlet/gt3dengine' } });
    expect(Object.keys(data!.credentials_summary).sort()).toEqual(['api_key', 'extra_credentials', 'password', 'secret_key', 'username']);
    expectNoSecrets(data, Object.values(credentials));
    // The bank configuration's change is the token's subject's, as the audit trail will say.
    expect(data!.updated_by).toEqual({ type: 'token', id: null, subject: 'f1c5e0a2-7b61-4f3e-9d1a-2c7b9e8d4a10' });
  });

  it('when a bank_code is not 4 digits and terminal_id is missing, then a 400 names both settings', async () => {
    const { client } = await payvenUser(target);
    const { response, error } = await client.POST('/v1/connections', { body: { provider: 'payven-vpos', reference: uniqueRef(), enabled: true, settings: { store_id: 's1', bank_code: '62' } } });
    expect(response.status).toBe(400);
    expect(error!.errors!.map((e) => e.pointer).sort()).toEqual(['/settings/bank_code', '/settings/terminal_id']);
  });

  it('when several bank terminals exist, then the default in each mode is the active one with the highest priority', async () => {
    const { client } = await payvenUser(target);
    const make = (environment: 'test' | 'production', priority: number, enabled = true) =>
      createConnection(client, { provider: 'payven-vpos', environment, priority, enabled, credentials: bankCredentials(), settings: bankSettings(`T${priority}`) });
    await make('test', 1);
    const testBest = await make('test', 5);
    await make('test', 9, false); // is_active: false
    const prodBest = await make('production', 2);
    const prodNext = await make('production', 1);
    expect((await defaultIn(client, 'test')).data!.id).toBe(testBest.id);
    expect((await defaultIn(client, 'production')).data!.id).toBe(prodBest.id);
    // Switching the best production terminal off hands the default to the next one.
    await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: prodBest.id } }, body: { enabled: false } });
    const next = await defaultIn(client, 'production');
    expect(next.response.status).toBe(200);
    expect(next.data!.id).toBe(prodNext.id);
  });
});
