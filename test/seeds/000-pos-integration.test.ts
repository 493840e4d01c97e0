/** Seed 000 (a POS integration service): `PUT /api/v1/provider-connections/{slug}` with status,
 * apiKey, apiSecret, webhookUrl, baseUrl and config, then read back; it reports last sync and
 * last error. Adapted: PUT /v1/providers/pos-connect/connections/{reference}. Unlike the seed,
 * Patchbay never echoes the secrets: the responses carry credentials_summary instead. */
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets, statefulMockTarget } from '../support/targets.js';
import { alnum, expectNoSecrets, tenant, uniqueRef } from '../api/factories.js';

// The upsert flow runs on the stateful mock too; the provider's settings schema is the server's alone.
describeEach([...serverTargets(), statefulMockTarget()])('seed 000 (POS integration service) on the $name', (target) => {
  it('when the POS connection is upserted with key, secret, URLs and config, then it is created, later updated, and never echoes the secrets', async () => {
    const { client } = await tenant(target);
    const reference = uniqueRef('store-42-pos');
    const apiKey = `posk_${alnum(24)}`;
    const apiSecret = `poss_${alnum(32)}`;
    const path = { path: { slug: 'pos-connect', reference } };

    const created = await client.PUT('/v1/providers/{slug}/connections/{reference}', {
      params: path,
      body: {
        status: 'active',
        credentials: { api_key: apiKey, api_secret: apiSecret },
        settings: { base_url: 'https://pos.example.com/api', webhook_url: 'https://shop.example.com/webhooks/pos', config: '{"store":"42","currency":"EUR"}' },
      },
    });
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ provider: 'pos-connect', reference, status: 'active', settings: { base_url: 'https://pos.example.com/api', config: '{"store":"42","currency":"EUR"}' } });

    // The same request again with a new webhook URL updates the same connection (200).
    const updated = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: path, body: { settings: { base_url: 'https://pos.example.com/api', webhook_url: 'https://shop.example.com/webhooks/pos-v2' } } });
    expect(updated.response.status).toBe(200);
    expect(updated.data!.id).toBe(created.data!.id);
    expect(updated.data!.settings.webhook_url).toBe('https://shop.example.com/webhooks/pos-v2');
    // The second upsert did not send config: the stored config survives it, as do the credentials.
    expect(updated.data!.settings.config).toBe('{"store":"42","currency":"EUR"}');
    expect(updated.data!.credentials_summary).toMatchObject({ api_key: { set: true }, api_secret: { set: true } });

    const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } } });
    expect(got.data!.credentials_summary).toMatchObject({ api_key: { set: true, last4: apiKey.slice(-4) }, api_secret: { set: true, last4: null } });
    // The API key is the field the catalog marks x-patchbay-hint: last4; the secret that goes with it is not.
    expect(got.data).not.toHaveProperty('credentials');
    expectNoSecrets([created.data, updated.data, got.data], [apiKey, apiSecret]);

    // The seed's lastSyncAt / lastError: a sync worker reports them.
    const connectionId = created.data!.id;
    await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId } }, body: { outcome: 'succeeded', entity: 'order', direction: 'inbound', finished_at: '2026-11-22T10:00:00.000Z' } });
    const failed = await client.POST('/v1/connections/{connectionId}/sync-runs', { params: { path: { connectionId } }, body: { outcome: 'failed', entity: 'product', error: { code: 'pos_timeout', message: 'POS did not answer' } } });
    expect(failed.response.status).toBe(201);
    const health = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } });
    expect(health.data).toMatchObject({ last_sync_at: '2026-11-22T10:00:00.000Z', last_error: { code: 'pos_timeout', message: 'POS did not answer' }, status: 'active' });
  });

  it('when the provider slug does not exist, then a 404 (the seed validates the slug)', async () => {
    const { client } = await tenant(target);
    const { response } = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'no-such-pos', reference: uniqueRef() } }, body: {} });
    expect(response.status).toBe(404);
  });
});

describeEach(serverTargets())('seed 000 (POS integration service), provider settings, on the $name', (target) => {
  it('when the base_url is not a URL, then a 400 names /settings/base_url', async () => {
    const { client } = await tenant(target);
    const { response, error } = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'pos-connect', reference: uniqueRef() } }, body: { settings: { base_url: 'not a url' } } });
    expect(response.status).toBe(400);
    expect(error!.errors!.map((e) => e.pointer)).toEqual(['/settings/base_url']);
  });
});
