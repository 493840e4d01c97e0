/** Credentials and settings: validated against the provider's schemas, write-only (never in
 * a response), summarised, kept by a PATCH that leaves them out, replaced as a whole. */
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { buildConnection, createConnection, eventsOf, expectNoSecrets, stripeSecret, stripeWebhookSecret, tenant, uniqueRef, type Connection } from './factories.js';

describeEach(serverTargets())('credentials and settings on the $name', (target) => {
  describe('POST /v1/connections validation', () => {
    it('when credentials violate the provider schema, then a 400 names every violation by pointer', async () => {
      const { client } = await tenant(target);
      const { response, error } = await client.POST('/v1/connections', {
        body: buildConnection({ credentials: { secret_key: 'not-a-stripe-key', webhook_secret: 'nope', colour: 'blue' } }),
      });
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
      const pointers = error!.errors!.map((e) => e.pointer).sort();
      expect(pointers).toEqual(['/credentials/colour', '/credentials/secret_key', '/credentials/webhook_secret']);
      // The rejected values themselves are never echoed back.
      expectNoSecrets(error, ['not-a-stripe-key']);
    });

    it('when settings violate the provider schema, then a 400 names each setting', async () => {
      const { client } = await tenant(target);
      const { response, error } = await client.POST('/v1/connections', {
        body: buildConnection({ settings: { account_id: 'bad id', webhook_url: 'not a uri', extra: 1 } }),
      });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer).sort()).toEqual(['/settings/account_id', '/settings/extra', '/settings/webhook_url']);
    });

    it('when sync_config names an entity the provider does not sync, then a 400 names that entity', async () => {
      const { client } = await tenant(target);
      const { response, error } = await client.POST('/v1/connections', {
        body: buildConnection({ sync_config: { invoice: { inbound: true, outbound: false }, spaceship: { inbound: true, outbound: false } } }),
      });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/sync_config/spaceship']);
      expect(error!.errors![0]!.message).toMatch(/spaceship|not an entity/);
    });

    it('when required credentials are missing, then it is created as pending_auth', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, { credentials: {} });
      expect(created.status).toBe('pending_auth');
    });
  });

  describe('credentials are write-only', () => {
    it('when a connection is created, read, listed, patched, replaced and upserted, then no response contains a credential value', async () => {
      const { client } = await tenant(target);
      const secret = stripeSecret();
      const webhook = stripeWebhookSecret();
      const created = await client.POST('/v1/connections', { body: buildConnection({ credentials: { secret_key: secret, webhook_secret: webhook } }) });
      expect(created.response.status).toBe(201);
      const id = created.data!.id;
      const got = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: id } } });
      const listed = await client.GET('/v1/connections', {});
      const patched = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: id } }, body: { priority: 3 } });
      const put = await client.PUT('/v1/connections/{connectionId}', { params: { path: { connectionId: id } }, body: { name: 'Stripe', environment: 'production', enabled: true, reference: created.data!.reference } });
      const rotated = stripeSecret();
      const creds = await client.PUT('/v1/connections/{connectionId}/credentials', { params: { path: { connectionId: id } }, body: { credentials: { secret_key: rotated } } });
      const upsertSecret = stripeSecret();
      const upserted = await client.PUT('/v1/providers/{slug}/connections/{reference}', {
        params: { path: { slug: 'stripe', reference: uniqueRef() } },
        body: { credentials: { secret_key: upsertSecret } },
      });
      const events = await eventsOf(client, id);
      for (const r of [got, listed, patched, put, creds, upserted]) expect(r.response.status).toBeLessThan(300);
      const everything = [created.data, got.data, listed.data, patched.data, put.data, creds.data, upserted.data, events];
      expectNoSecrets(everything, [secret, webhook, rotated, upsertSecret]);
      expect(JSON.stringify(everything)).not.toContain('"credentials"');
    });

    it('when a field is set, then the summary has set, last4 (only where the catalog marks it: credential-hints.test.ts), a fingerprint and updated_at', async () => {
      const { client } = await tenant(target);
      const secret = stripeSecret();
      const webhook = stripeWebhookSecret();
      const created = await createConnection(client, { credentials: { secret_key: secret, webhook_secret: webhook } });
      const summary = created.credentials_summary;
      expect(summary.secret_key).toEqual({ set: true, last4: secret.slice(-4), fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), updated_at: expect.any(String) });
      expect(summary.webhook_secret).toEqual({ set: true, last4: null, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/), updated_at: expect.any(String) });
      expect(Date.parse(summary.secret_key!.updated_at)).not.toBeNaN();
      expect(summary.secret_key!.fingerprint).not.toBe(summary.webhook_secret!.fingerprint);
    });
  });

  describe('PATCH /v1/connections/{connectionId} and credentials', () => {
    it('when a PATCH leaves credentials out, then they are kept (same fingerprint)', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client);
      const { data } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } }, body: { name: 'Renamed' } });
      expect(data!.name).toBe('Renamed');
      expect(data!.credentials_summary).toEqual(created.credentials_summary);
      expect(data!.status).toBe('active');
    });

    it('when a PATCH sets one credential field to null, then only that field is removed', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, { credentials: { secret_key: stripeSecret(), webhook_secret: stripeWebhookSecret() } });
      const { response, data } = await client.PATCH('/v1/connections/{connectionId}', {
        params: { path: { connectionId: created.id } },
        body: { credentials: { webhook_secret: null } },
      });
      expect(response.status).toBe(200);
      expect(Object.keys(data!.credentials_summary)).toEqual(['secret_key']);
      expect(data!.credentials_summary.secret_key!.fingerprint).toBe(created.credentials_summary.secret_key!.fingerprint);
    });

    it('when the body is sent as application/merge-patch+json, then null removes a settings key and other keys merge', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, { settings: { account_id: 'acct_123', webhook_url: 'https://a.example.com/h' } });
      const { response, data } = await client.PATCH('/v1/connections/{connectionId}', {
        params: { path: { connectionId: created.id } },
        headers: { 'Content-Type': 'application/merge-patch+json' },
        body: { settings: { webhook_url: null, publishable_key: 'pk_test_abc' }, metadata: { team: 'payments' } },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = data as Connection;
      expect(body.settings).toEqual({ account_id: 'acct_123', publishable_key: 'pk_test_abc' });
      expect(body.metadata).toEqual({ team: 'payments' });
    });
  });

  describe('PUT /v1/connections/{connectionId}', () => {
    it('when members are left out of a replace, then they take their defaults but credentials are kept', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, {
        description: 'old',
        priority: 7,
        enabled: false,
        settings: { account_id: 'acct_1' },
        metadata: { a: 'b' },
        tags: ['eu'],
        sync_config: { invoice: { inbound: true, outbound: true } },
      });
      const { response, data } = await client.PUT('/v1/connections/{connectionId}', {
        params: { path: { connectionId: created.id } },
        body: { name: 'Replaced', environment: 'production', enabled: true },
      });
      expect(response.status).toBe(200);
      expect(data).toMatchObject({ name: 'Replaced', reference: null, description: null, priority: 0, enabled: true, settings: {}, metadata: {}, tags: [], sync_config: {}, linked_resources: [] });
      expect(data!.credentials_summary).toEqual(created.credentials_summary);
      expect(data!.status).toBe('active');
    });

    it('when the provider in a replace differs, then a 400 points at /provider', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client);
      const { response, error } = await client.PUT('/v1/connections/{connectionId}', {
        params: { path: { connectionId: created.id } },
        body: { provider: 'razorpay', name: 'x', environment: 'production', enabled: true },
      });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/provider']);
    });
  });

  describe('PUT /v1/connections/{connectionId}/credentials', () => {
    it('when a required field is missing, then a 400 points at it and nothing changes', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, { credentials: {} });
      const { response, error } = await client.PUT('/v1/connections/{connectionId}/credentials', {
        params: { path: { connectionId: created.id } },
        body: { credentials: { webhook_secret: stripeWebhookSecret() } },
      });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/credentials/secret_key']);
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: created.id } } });
      expect(after.data!.version).toBe(created.version);
    });

    it('when all required credentials are given to a pending_auth connection, then it becomes active and the old fields are gone', async () => {
      const { client } = await tenant(target);
      const created = await createConnection(client, { credentials: { webhook_secret: stripeWebhookSecret() } });
      expect(created.status).toBe('pending_auth');
      const { response, data } = await client.PUT('/v1/connections/{connectionId}/credentials', {
        params: { path: { connectionId: created.id } },
        body: { credentials: { secret_key: stripeSecret() } },
      });
      expect(response.status).toBe(200);
      expect(data!.status).toBe('active');
      expect(Object.keys(data!.credentials_summary)).toEqual(['secret_key']);
    });
  });
});
