/** GET /v1/providers/{slug}/default-connection and the uniqueness of `reference`. */
import { describe, expect, it } from 'vitest';
import { describeEach, serverTargets } from '../support/targets.js';
import { createConnection, tenant, uniqueRef } from './factories.js';

describeEach(serverTargets())('default connection and references on the $name', (target) => {
  describe('GET /v1/providers/{slug}/default-connection', () => {
    it('when several connections qualify, then the enabled active one with the highest priority wins; disabled, pending and other environments are ignored', async () => {
      const { client } = await tenant(target);
      await createConnection(client, { priority: 5 });
      const best = await createConnection(client, { priority: 10 });
      await createConnection(client, { priority: 50, enabled: false });
      await createConnection(client, { priority: 60, credentials: {} }); // pending_auth
      await createConnection(client, { priority: 70, environment: 'test' });
      const disabled = await createConnection(client, { priority: 80 });
      await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: disabled.id } }, body: { status: 'disabled' } });
      const { response, data } = await client.GET('/v1/providers/{slug}/default-connection', { params: { path: { slug: 'stripe' }, query: { environment: 'production' } } });
      expect(response.status).toBe(200);
      expect(data!.id).toBe(best.id);
      expect(response.headers.get('etag')).toBe(`"${best.version}"`);
    });

    it('when two connections tie on priority, then the oldest one is the default', async () => {
      const { client } = await tenant(target);
      const older = await createConnection(client, { priority: 3, environment: 'test' });
      await createConnection(client, { priority: 3, environment: 'test' });
      const { data } = await client.GET('/v1/providers/{slug}/default-connection', { params: { path: { slug: 'stripe' }, query: { environment: 'test' } } });
      expect(data!.id).toBe(older.id);
    });

    it('when no connection qualifies, then a 404 problem', async () => {
      const { client } = await tenant(target);
      await createConnection(client, { environment: 'test' });
      const { response, error } = await client.GET('/v1/providers/{slug}/default-connection', { params: { path: { slug: 'stripe' }, query: { environment: 'production' } } });
      expect(response.status).toBe(404);
      expect(error).toMatchObject({ code: 'not_found' });
    });
  });

  describe('reference uniqueness', () => {
    it('when a reference is reused in the same tenant and environment, then a 409 points at /reference', async () => {
      const { client } = await tenant(target);
      const first = await createConnection(client);
      const { response, error } = await client.POST('/v1/connections', { body: { provider: 'stripe', reference: first.reference!, enabled: true } });
      expect(response.status).toBe(409);
      expect(error).toMatchObject({ code: 'conflict' });
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/reference']);
    });

    it('when a PATCH moves a reference onto one in use, then a 409 points at /reference', async () => {
      const { client } = await tenant(target);
      const first = await createConnection(client);
      const second = await createConnection(client);
      const { response, error } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: second.id } }, body: { reference: first.reference } });
      expect(response.status).toBe(409);
      expect(error!.errors!.map((e) => e.pointer)).toEqual(['/reference']);
    });

    it('when the same reference is used in the other environment or in another tenant, then both are created', async () => {
      const a = await tenant(target);
      const b = await tenant(target);
      const reference = uniqueRef();
      await createConnection(a.client, { reference, environment: 'production' });
      const otherEnv = await a.client.POST('/v1/connections', { body: { provider: 'stripe', reference, environment: 'test', enabled: true } });
      expect(otherEnv.response.status).toBe(201);
      const otherTenant = await b.client.POST('/v1/connections', { body: { provider: 'stripe', reference, environment: 'production', enabled: true } });
      expect(otherTenant.response.status).toBe(201);
    });

    it('when a reference contains spaces or is longer than 256, then a 400 points at /reference', async () => {
      const { client } = await tenant(target);
      for (const reference of ['has spaces', 'x'.repeat(257)]) {
        const { response, error } = await client.POST('/v1/connections', { body: { provider: 'stripe', reference, enabled: true } });
        expect(response.status).toBe(400);
        expect(error!.errors!.map((e) => e.pointer)).toContain('/reference');
      }
    });
  });
});
