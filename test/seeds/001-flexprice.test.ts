/** Seed 001 (Flexprice): `PUT /v1/connections/{id}` updating name, metadata, per-provider
 * encrypted secret data and per-entity sync directions. Adapted: a merge PATCH of
 * /v1/connections/{id}; Flexprice's non-secret fields (site, client_id, realm_id, app_id...)
 * are the provider's settings in Patchbay's catalog, its secrets are credentials. */
import { describe, expect, it } from 'vitest';
import type { RequestBody } from '@patchbay/client';
import { describeEach, serverTargets, statefulMockTarget } from '../support/targets.js';
import { alnum, createConnection, expectNoSecrets, stripeSecret, tenant } from '../api/factories.js';

type Patch = RequestBody<'updateConnection'>;
interface Case {
  provider: string;
  initial: Record<string, string>;
  initialSettings?: Record<string, unknown>;
  patch: Patch & { credentials: Record<string, string> };
}

const both = { inbound: true, outbound: true };
const cases: Case[] = [
  {
    provider: 'stripe',
    initial: { secret_key: stripeSecret() },
    patch: { credentials: { secret_key: stripeSecret(), webhook_secret: `whsec_${alnum(20)}` }, settings: { account_id: 'acct_1NbW3cQ2eZvKYlo2', publishable_key: `pk_test_${alnum(16)}` }, sync_config: { invoice: both, payment: both, plan: both, subscription: both } },
  },
  {
    provider: 'razorpay',
    initial: { key_id: `rzp_test_${alnum(14)}`, secret_key: alnum(24) },
    patch: { credentials: { key_id: `rzp_live_${alnum(14)}`, secret_key: alnum(24), webhook_secret: alnum(20) }, sync_config: { invoice: both, payment: both, subscription: both, plan: both } },
  },
  {
    provider: 'chargebee',
    initial: { api_key: `live_${alnum(24)}` },
    initialSettings: { site: 'acme-test' },
    patch: { credentials: { api_key: `live_${alnum(24)}`, webhook_password: alnum(16), webhook_secret: alnum(20) }, settings: { site: 'acme', webhook_username: 'flexprice' }, sync_config: { invoice: both, quote: both, plan: both, subscription: both } },
  },
  {
    provider: 'quickbooks',
    initial: { client_secret: alnum(24), refresh_token: alnum(40) },
    initialSettings: { client_id: 'ABclient', realm_id: '9130357' },
    patch: {
      credentials: { client_secret: alnum(24), access_token: alnum(60), refresh_token: alnum(40), auth_code: alnum(30), webhook_verifier_token: alnum(20), oauth_session_data: `{"state":"${alnum(12)}"}` },
      settings: { client_id: 'ABclient2', realm_id: '9130358', redirect_uri: 'https://app.example.com/oauth/qbo', income_account_id: '79' },
      sync_config: { invoice: both, payment: both },
    },
  },
  {
    provider: 'hubspot',
    initial: { access_token: alnum(48) },
    patch: { credentials: { access_token: alnum(48), client_secret: alnum(24) }, settings: { app_id: '123456' }, sync_config: { deal: both, quote: both, invoice: both } },
  },
  {
    provider: 's3',
    initial: { aws_access_key_id: `AKIA${alnum(16).toUpperCase()}`, aws_secret_access_key: alnum(40) },
    initialSettings: { bucket: 'acme-invoices', region: 'eu-west-1' },
    patch: { credentials: { aws_access_key_id: `ASIA${alnum(16).toUpperCase()}`, aws_secret_access_key: alnum(40), aws_session_token: alnum(80) }, settings: { prefix: 'flexprice/' }, sync_config: { invoice: { inbound: false, outbound: true } } },
  },
  {
    provider: 'generic',
    initial: { token: alnum(30) },
    patch: { credentials: { api_token: alnum(30), signing_secret: alnum(30) }, settings: { invoice_sync_enable: true }, sync_config: { record: both } },
  },
];

// Every flow of this seed is one the stateful mock answers as well.
describeEach([...serverTargets(), statefulMockTarget()])('seed 001 (Flexprice) on the $name', (target) => {
  it.each(cases)('when a $provider connection is updated with name, metadata, secret data and sync_config, then all of it applies and no secret is echoed', async ({ provider, initial, initialSettings, patch }) => {
    const { client } = await tenant(target);
    const created = await createConnection(client, { provider, credentials: initial, ...(initialSettings ? { settings: initialSettings } : {}) });
    const { response, data, error } = await client.PATCH('/v1/connections/{connectionId}', {
      params: { path: { connectionId: created.id } },
      body: { name: `Flexprice ${provider}`, metadata: { flexprice_environment: 'env_01', owner: 'billing' }, ...patch },
    });
    expect(response.status, JSON.stringify(error)).toBe(200);
    expect(data).toMatchObject({ name: `Flexprice ${provider}`, metadata: { flexprice_environment: 'env_01', owner: 'billing' }, sync_config: patch.sync_config, status: 'active' });
    expect(data!.settings).toMatchObject(patch.settings ?? {});
    // Patch semantics: credentials given are set, those not given are kept.
    expect(Object.keys(data!.credentials_summary).sort()).toEqual([...new Set([...Object.keys(initial), ...Object.keys(patch.credentials)])].sort());
    expectNoSecrets(data, [...Object.values(initial), ...Object.values(patch.credentials)].filter((v) => v.length >= 8));
  });

  it('when sync_config names an entity the provider lacks (Flexprice\'s deal on Stripe), then a 400 names it', async () => {
    const { client } = await tenant(target);
    const created = await createConnection(client);
    const { response, error } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { sync_config: { deal: both } } });
    expect(response.status).toBe(400);
    expect(error!.errors!.map((e) => e.pointer)).toEqual(['/sync_config/deal']);
  });
});
