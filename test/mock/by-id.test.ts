/** The mock answers by id (issue 16): a path parameter that names a resource one of the
 * spec's examples describes selects the example about that resource, consistently between
 * list, get, events and the tenant's keys; an id no example has is the operation's 404
 * problem, worded as the server words it; `Prefer: example=` still wins. Every answer is
 * checked against the spec. */
import { describe, expect, inject, it } from 'vitest';
import { loadOperations } from '@patchbay/api-types/documents';
import { call, expectProblem } from '../support/http.js';
import { specViolations } from '../support/spec-schema.js';
import { validRequest } from './requests.js';

const operations = loadOperations();
const byId = (id: string) => operations.find((o) => o.operationId === id)!;
const examplesOf = (operationId: string, status = '200') =>
  Object.values(byId(operationId).responses[status]!.content)[0]!.examples.map((e) => ({ name: e.name, value: e.value as Record<string, unknown> & { data?: Record<string, unknown>[] } }));

type Json = Record<string, unknown> & { data?: Record<string, unknown>[]; id?: string };

async function get(operationId: string, path: Record<string, string>, headers: Record<string, string> = {}) {
  const plan = validRequest(byId(operationId), { path });
  const result = await call(plan.url, { baseUrl: inject('mockUrl'), method: plan.method, apiKey: 'by-id-test', headers: { ...plan.headers, ...headers }, body: plan.body });
  const type = (result.headers.get('content-type') ?? '').split(';')[0]!;
  if (result.status !== 204) expect(specViolations(operationId, result.status, result.json, type), result.text).toEqual([]);
  return result;
}

/** Every connection the examples describe, by id (the list's 'all' example and the gets). */
const connections = new Map<string, Json>();
for (const example of [...examplesOf('listConnections').flatMap((e) => e.value.data ?? []), ...examplesOf('getConnection').map((e) => e.value)]) connections.set(example.id as string, example as Json);
const connectionIds = [...connections.keys()];
const providerSlugs = examplesOf('getProvider').map((e) => e.value.slug as string);

describe('the mock answers by id', () => {
  it('knows at least the four connections of the examples', () => {
    expect(connectionIds.length).toBeGreaterThanOrEqual(4);
  });

  describe('GET /v1/connections/{connectionId}', () => {
    it.each(connectionIds)('answers %s with the example about it, the one the list holds', async (id) => {
      const answer = await get('getConnection', { connectionId: id });
      expect(answer.status).toBe(200);
      expect((answer.json as Json).id).toBe(id);
      expect(answer.json).toEqual(connections.get(id));
      expect(answer.headers.get('etag')).toBe(`"${(answer.json as Json).version}"`);
      const list = await get('listConnections', {});
      const listed = (list.json as Json).data!.find((c) => c.id === id);
      if (listed) expect(answer.json).toEqual(listed);
    });

    it('answers an id no example has with the 404 problem the server sends', async () => {
      const unknown = 'conn_01zzzzzzzzzzzzzzzzzzzzzzzz';
      const problem = expectProblem(await get('getConnection', { connectionId: unknown }), 404, 'not_found');
      expect(problem.detail).toBe(`No connection ${unknown} in this tenant.`);
      expect(problem.instance).toBe(`/v1/connections/${unknown}`);
    });

    it('still answers the example asked for with Prefer: example=', async () => {
      const [stripe, vpos] = [connectionIds.find((id) => connections.get(id)!.provider === 'stripe')!, connectionIds.find((id) => connections.get(id)!.provider === 'payven-vpos')!];
      const answer = await get('getConnection', { connectionId: stripe }, { Prefer: 'example=payven_vpos' });
      expect((answer.json as Json).id).toBe(vpos);
    });
  });

  describe('GET /v1/connections/{connectionId}/events', () => {
    it.each(connectionIds)('lists only events about %s (maybe none)', async (id) => {
      const answer = await get('listConnectionEvents', { connectionId: id });
      expect(answer.status).toBe(200);
      for (const event of (answer.json as Json).data!) expect(event.connection_id).toBe(id);
    });

    it('finds the events the examples tell about a connection', async () => {
      for (const example of examplesOf('listConnectionEvents')) {
        const id = example.value.data![0]!.connection_id as string;
        const answer = await get('listConnectionEvents', { connectionId: id });
        expect(answer.json).toEqual(example.value);
      }
    });

    it('answers an unknown connection with a 404 problem', async () => {
      expectProblem(await get('listConnectionEvents', { connectionId: 'conn_01zzzzzzzzzzzzzzzzzzzzzzzz' }), 404, 'not_found');
    });
  });

  describe('a write by id', () => {
    it('PATCH answers the connection it names, not another one', async () => {
      for (const id of connectionIds) {
        const plan = validRequest(byId('updateConnection'), { path: { connectionId: id } });
        const answer = await call(plan.url, { baseUrl: inject('mockUrl'), method: 'PATCH', apiKey: 'by-id-test', headers: plan.headers, body: plan.body });
        expect(answer.status).toBe(200);
        expect((answer.json as Json).id).toBe(id);
      }
    });

    it('a sync run reported for an unknown connection is a 404 problem', async () => {
      expectProblem(await get('reportSyncRun', { connectionId: 'conn_01zzzzzzzzzzzzzzzzzzzzzzzz' }), 404, 'not_found');
    });
  });

  describe('providers', () => {
    it.each(providerSlugs)('GET /v1/providers/%s answers that provider', async (slug) => {
      const answer = await get('getProvider', { slug });
      expect(answer.status).toBe(200);
      expect((answer.json as Json).slug).toBe(slug);
    });

    it('an unknown slug is the 404 problem the server sends', async () => {
      const problem = expectProblem(await get('getProvider', { slug: 'no-such-provider' }), 404, 'not_found');
      expect(problem.detail).toBe(`No provider with slug 'no-such-provider'.`);
    });

    it('the default connection of a provider is about that provider', async () => {
      for (const slug of ['stripe', 'payven-vpos']) {
        const answer = await get('getDefaultProviderConnection', { slug });
        expect((answer.json as Json).provider).toBe(slug);
      }
    });
  });

  describe("a tenant's keys", () => {
    const tenantId = (examplesOf('listTenants')[0]!.value.data![0]!.id as string) ?? '';
    it('lists the keys of the tenant the examples describe, and revokes each one its examples show by its id', async () => {
      const keys = await get('listApiKeys', { tenantId });
      expect(keys.status).toBe(200);
      const data = (keys.json as Json).data!;
      expect(data.length).toBeGreaterThan(0);
      for (const key of data) expect(key.tenant_id).toBe(tenantId);
      for (const example of examplesOf('revokeApiKey')) {
        const keyId = example.value.id as string;
        expect(data.map((k) => k.id)).toContain(keyId);
        const revoked = await get('revokeApiKey', { tenantId, keyId });
        expect(revoked.status).toBe(200);
        expect(revoked.json).toEqual(example.value);
      }
    });

    it('an unknown tenant or key is a 404 problem', async () => {
      expectProblem(await get('listApiKeys', { tenantId: 'ten_01zzzzzzzzzzzzzzzzzzzzzzzz' }), 404, 'not_found');
      expectProblem(await get('revokeApiKey', { tenantId, keyId: 'key_01zzzzzzzzzzzzzzzzzzzzzzzz' }), 404, 'not_found');
    });
  });
});
