/** The providers slice of the contract: what every consumer of /v1/providers can rely on,
 * checked through the typed client against the real server and against the mock alike. */
import { describe, expect, it } from 'vitest';
import { specViolations } from '../support/spec-schema.js';
import { describeEach, targets } from '../support/targets.js';

describeEach(targets())('providers contract against the $name', (target) => {
  describe('GET /v1/providers', () => {
    it('rejects a caller without a key with a 401 problem', async () => {
      const { response, error } = await target.client({ apiKey: undefined }).GET('/v1/providers');
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
      expect(specViolations('listProviders', 401, error, 'application/problem+json')).toEqual([]);
    });

    it('lists providers in the documented shape', async () => {
      const { response, data } = await target.client().GET('/v1/providers');
      expect(response.status).toBe(200);
      expect(specViolations('listProviders', 200, data)).toEqual([]);
      expect(data!.data.length).toBeGreaterThan(0);
      for (const provider of data!.data) {
        expect(provider.credentials_schema.type).toBe('object');
      }
    });

    it('reports every invalid query parameter, each with its pointer', async () => {
      const { response, error } = await target.client().GET('/v1/providers', {
        // @ts-expect-error an unknown category does not compile: the spec lists the categories
        params: { query: { limit: 500, category: 'spaceships' } },
      });
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(specViolations('listProviders', 400, error, 'application/problem+json')).toEqual([]);
      const pointers = error!.errors!.map((e) => e.pointer).sort();
      expect(pointers).toEqual(['/query/category', '/query/limit']);
    });
  });

  describe('GET /v1/providers/{slug}', () => {
    it('rejects a caller without a key with a 401 problem', async () => {
      const { response } = await target.client({ apiKey: undefined }).GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
      expect(response.status).toBe(401);
    });

    it('returns a provider in the documented shape', async () => {
      const { response, data } = await target.client().GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
      expect(response.status).toBe(200);
      expect(specViolations('getProvider', 200, data)).toEqual([]);
      expect(data!.slug).toBe('stripe');
    });

    it('rejects a slug that cannot be one with a 400 naming the path parameter', async () => {
      const { response, error } = await target.client().GET('/v1/providers/{slug}', { params: { path: { slug: 'Not A Slug' } } });
      expect(response.status).toBe(400);
      expect(error!.errors!.map((e) => e.pointer)).toContain('/path/slug');
    });
  });

  describe('GET /healthz', () => {
    it('answers without a key', async () => {
      const { response, data } = await target.client({ apiKey: undefined }).GET('/healthz');
      expect(response.status).toBe(200);
      expect(data).toMatchObject({ status: 'ok' });
    });
  });
});
