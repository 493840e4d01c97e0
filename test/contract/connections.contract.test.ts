/** The connections slice of the contract: what both the real servers and the mock honour,
 * checked through the typed client against the documented shapes. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { specViolations } from '../support/spec-schema.js';
import { describeEach, newTenantKey, targets } from '../support/targets.js';
import { buildConnection } from '../api/factories.js';

const body = () => buildConnection({ reference: `contract-${randomUUID()}`, enabled: true });

describeEach(targets())('connections contract against the $name', (target) => {
  describe('POST /v1/connections', () => {
    it('rejects a caller without a key with a 401 problem', async () => {
      const { response, error } = await target.client({ apiKey: undefined }).POST('/v1/connections', { body: body() });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(specViolations('createConnection', 401, error, 'application/problem+json')).toEqual([]);
    });

    it('creates a connection in the documented shape', async () => {
      const { apiKey } = await newTenantKey(target);
      const { response, data } = await target.client({ apiKey }).POST('/v1/connections', { body: body() });
      expect(response.status).toBe(201);
      expect(specViolations('createConnection', 201, data)).toEqual([]);
    });
  });

  describe('invalid bodies', () => {
    // The mock validates with the server's own edge (decision 0008): both name the member.
    it('rejects a create whose reference has spaces with a 400 validation problem naming it', async () => {
      const { apiKey } = await newTenantKey(target);
      const { response, error } = await target.client({ apiKey }).POST('/v1/connections', { body: { ...body(), reference: 'has spaces' } });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed', request_id: response.headers.get('x-request-id') });
      expect(specViolations('createConnection', 400, error, 'application/problem+json')).toEqual([]);
      expect([...new Set(error!.errors!.map((e) => e.pointer))]).toEqual(['/reference']);
    });

    it('rejects a patch whose reference has spaces with a 400 validation problem naming it', async () => {
      const { apiKey } = await newTenantKey(target);
      const client = target.client({ apiKey });
      const created = await client.POST('/v1/connections', { body: body() });
      const { response, error } = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } }, body: { reference: 'has spaces' } });
      expect(response.status).toBe(400);
      expect(error).toMatchObject({ status: 400, code: 'validation_failed', detail: '1 field is invalid' });
      expect(specViolations('updateConnection', 400, error, 'application/problem+json')).toEqual([]);
      // One bad member is one error, though the schema allows null too (oneOf [string, null]).
      expect(error!.errors).toEqual([{ pointer: '/reference', message: expect.stringContaining('must match pattern') }]);
      const wrongType = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: created.data!.id } }, body: { reference: 42 as never, priority: 'high' as never } });
      expect(wrongType.error).toMatchObject({ detail: '2 fields are invalid' });
      expect(wrongType.error!.errors).toEqual([
        { pointer: '/reference', message: 'must be string' },
        { pointer: '/priority', message: 'must be integer' },
      ]);
    });
  });

  describe('GET /v1/connections', () => {
    it('rejects a caller without a key', async () => {
      const { response } = await target.client({ apiKey: undefined }).GET('/v1/connections', {});
      expect(response.status).toBe(401);
    });

    it('lists connections in the documented shape', async () => {
      const { apiKey } = await newTenantKey(target);
      const client = target.client({ apiKey });
      await client.POST('/v1/connections', { body: body() });
      const { response, data } = await client.GET('/v1/connections', {});
      expect(response.status).toBe(200);
      expect(specViolations('listConnections', 200, data)).toEqual([]);
      expect(data!.data.length).toBeGreaterThan(0);
    });
  });

  describe('GET /v1/connections/{connectionId} and its events', () => {
    it('returns a connection and its events in the documented shapes', async () => {
      const { apiKey } = await newTenantKey(target);
      const client = target.client({ apiKey });
      const created = await client.POST('/v1/connections', { body: body() });
      const path = { path: { connectionId: created.data!.id } };
      const got = await client.GET('/v1/connections/{connectionId}', { params: path });
      expect(got.response.status).toBe(200);
      expect(specViolations('getConnection', 200, got.data)).toEqual([]);
      const events = await client.GET('/v1/connections/{connectionId}/events', { params: path });
      expect(events.response.status).toBe(200);
      expect(specViolations('listConnectionEvents', 200, events.data)).toEqual([]);
    });

    it('rejects a caller without a key', async () => {
      const { response } = await target.client({ apiKey: undefined }).GET('/v1/connections/{connectionId}', { params: { path: { connectionId: 'conn_01jd5qaz8x3k7m2n4p6r8t0vwy' } } });
      expect(response.status).toBe(401);
    });
  });
});
