/** What a frontend team relies on when it builds against the mock: every operation answers
 * from the spec's examples in the documented shape, every documented status and every named
 * example can be asked for with `Prefer`, dynamic answers are repeatable with a seed, the
 * examples tell one consistent story, credentials never appear, and browsers may call it. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadOperations } from '@patchbay/api-types/documents';
import type { SpecOperation } from '@patchbay/api-types/operations';
import { call } from '../support/http.js';
import { startMock, type RunningProcess } from '../support/processes.js';
import { specViolations } from '../support/spec-schema.js';
import { firstExample, validRequest, type RequestPlan } from './requests.js';

const operations = loadOperations();
const byId = (id: string) => operations.find((o) => o.operationId === id)!;

/** Sends a planned request to a mock with any key (the mock accepts every non-empty one). */
async function send(baseUrl: string, plan: RequestPlan, headers: Record<string, string> = {}) {
  const result = await call(plan.url, { baseUrl, method: plan.method, apiKey: 'any-key-works-on-the-mock', headers: { ...plan.headers, ...headers }, body: plan.body });
  const type = (result.headers.get('content-type') ?? '').split(';')[0]!;
  return { status: result.status, type, headers: result.headers, body: result.json ?? result.text };
}

/** Every key path in a JSON value that is named `credentials` (never in a response). */
function credentialsMembers(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => credentialsMembers(v, `${path}/${i}`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => [...(k === 'credentials' ? [`${path}/${k}`] : []), ...credentialsMembers(v, `${path}/${k}`)]);
  return [];
}

/** A problem example as the mock serves it: with this request's id and path. */
function asServed(example: unknown, type: string, requestId: string | null, path: string): unknown {
  if (type !== 'application/problem+json' || !example || typeof example !== 'object') return example;
  return { ...(example as object), request_id: requestId, instance: path };
}

interface StatusCase {
  label: string;
  operation: SpecOperation;
  status: number;
}
interface ExampleCase extends StatusCase {
  type: string;
  name: string;
  value: unknown;
}

const statusCases: StatusCase[] = [];
const exampleCases: ExampleCase[] = [];
for (const operation of operations) {
  for (const [status, response] of Object.entries(operation.responses)) {
    if (!/^\d{3}$/.test(status)) continue;
    statusCases.push({ label: `${operation.operationId} ${status}`, operation, status: Number(status) });
    for (const [type, media] of Object.entries(response.content)) {
      for (const { name, value } of media.examples) {
        exampleCases.push({ label: `${operation.operationId} ${status} '${name}'`, operation, status: Number(status), type, name, value });
      }
    }
  }
}

describe('the mock', () => {
  const mockUrl = inject('mockUrl');

  describe('answers every operation, by default, with its first success example', () => {
    it.each(operations.map((o) => ({ ...o, label: o.operationId })))('$label', async (operation) => {
      const plan = validRequest(operation);
      const answer = await send(mockUrl, plan);
      const success = Object.keys(operation.responses).filter((s) => /^2\d\d$/.test(s)).sort()[0]!;
      expect(answer.status, JSON.stringify(answer.body)).toBe(Number(success));
      expect(credentialsMembers(answer.body)).toEqual([]);
      if (answer.status === 204) return;
      expect(specViolations(operation.operationId, answer.status, answer.body, answer.type)).toEqual([]);
      const documented = firstExample(operation.responses[success]!.content[answer.type]);
      if (documented !== undefined) expect(answer.body).toEqual(documented);
    });
  });

  describe('answers every documented status when asked with Prefer: code=', () => {
    it.each(statusCases)('$label', async ({ operation, status }) => {
      const answer = await send(mockUrl, validRequest(operation), { Prefer: `code=${status}` });
      expect(answer.status).toBe(status);
      expect(credentialsMembers(answer.body)).toEqual([]);
      // An empty body is right only where the spec documents none; elsewhere it is a failure.
      if (Object.keys(operation.responses[String(status)]!.content).length === 0) {
        expect(answer.body).toBe('');
        return;
      }
      expect(answer.body).not.toBe('');
      expect(specViolations(operation.operationId, status, answer.body, answer.type)).toEqual([]);
      if (answer.type === 'application/problem+json') {
        expect(answer.body).toMatchObject({ status, request_id: answer.headers.get('x-request-id') });
      }
    });
  });

  describe('answers every named example when asked with Prefer: example=', () => {
    it.each(exampleCases)('$label', async ({ operation, status, type, name, value }) => {
      const plan = validRequest(operation);
      const answer = await send(mockUrl, plan, { Prefer: `code=${status}, example=${name}` });
      expect(answer.status).toBe(status);
      expect(answer.type).toBe(type);
      expect(answer.body).toEqual(asServed(value, type, answer.headers.get('x-request-id'), plan.url.split('?')[0]!));
    });
  });

  it('refuses a Prefer it cannot honour with a 400 naming the header', async () => {
    const answer = await send(mockUrl, validRequest(byId('listProviders')), { Prefer: 'code=418' });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'validation_failed', errors: [{ pointer: '/header/prefer', message: expect.stringContaining('418') }] });
    const unknown = await send(mockUrl, validRequest(byId('listProviders')), { Prefer: 'example=no-such-example' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ errors: [{ pointer: '/header/prefer', message: expect.stringContaining('no-such-example') }] });
  });

  it('tells one story: the connection it gets is the one it lists, and its events are about it', async () => {
    const got = (await send(mockUrl, validRequest(byId('getConnection')))).body as { id: string };
    const list = (await send(mockUrl, validRequest(byId('listConnections')))).body as { data: { id: string }[] };
    expect(list.data.map((c) => c.id)).toContain(got.id);
    expect(list.data.find((c) => c.id === got.id)).toEqual(got);
    const events = (await send(mockUrl, validRequest(byId('listConnectionEvents'), { path: { connectionId: got.id } }))).body as { data: { connection_id: string }[] };
    expect(events.data.length).toBeGreaterThan(0);
    for (const event of events.data) expect(event.connection_id).toBe(got.id);
  });

  describe('lets a browser app on another origin call it', () => {
    const origin = 'http://localhost:5173';

    it('answers a preflight with the methods and headers asked for', async () => {
      const response = await fetch(new URL('/v1/connections', mockUrl), {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, content-type, idempotency-key' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-methods')).toContain('POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('x-api-key, content-type, idempotency-key');
    });

    it('lets the app read the answer, errors included, and the headers it needs', async () => {
      // With a key an answer (200), without one a problem (401): both readable by the app.
      for (const [headers, status] of [[{ 'X-Api-Key': 'k' }, 200], [{}, 401]] as [Record<string, string>, number][]) {
        const response = await fetch(new URL('/v1/connections', mockUrl), { headers: { Origin: origin, ...headers } });
        expect(response.status).toBe(status);
        if (status === 401) expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(response.headers.get('access-control-allow-origin')).toBe(origin);
        expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
        expect(response.headers.get('access-control-expose-headers')).toMatch(/ETag/);
      }
    });
  });

  describe('in dynamic mode', () => {
    let first: RunningProcess;
    let second: RunningProcess;
    let otherSeed: RunningProcess;
    beforeAll(async () => {
      [first, second, otherSeed] = await Promise.all([
        startMock({}, ['--dynamic', '--seed=frontend-42']),
        startMock({ PATCHBAY_MOCK_DYNAMIC: 'true', PATCHBAY_MOCK_SEED: 'frontend-42' }),
        startMock({}, ['--dynamic', '--seed', 'another-seed']),
      ]);
    });
    afterAll(async () => {
      await Promise.allSettled([first?.stop(), second?.stop(), otherSeed?.stop()]);
    });

    it('generates answers in the documented shape, the same for the same seed and different for another', async () => {
      for (const id of ['getConnection', 'listConnections', 'listProviders']) {
        const plan = validRequest(byId(id));
        const [a, b, c] = await Promise.all([send(first.url, plan), send(second.url, plan), send(otherSeed.url, plan)]);
        expect(a.status).toBe(200);
        expect(specViolations(id, 200, a.body)).toEqual([]);
        expect(credentialsMembers(a.body)).toEqual([]);
        expect(b.body).toEqual(a.body);
        expect(c.body).not.toEqual(a.body);
      }
    });

    it('still validates requests as the server does', async () => {
      const answer = await send(first.url, validRequest(byId('getConnection'), { path: { connectionId: 'nope' } }));
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'validation_failed', errors: [{ pointer: '/path/connectionId' }] });
    });
  });
});
