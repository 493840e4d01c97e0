/** The mock rejects a bad request exactly as the server does: for every operation of both
 * specs, each way of getting the request wrong that the spec can express is sent to the
 * server and to the mock, and the two answers must be the same status, the same problem
 * document (but for its request id) and the same Allow header. The cases are derived from
 * the spec, so a new operation or parameter is covered without touching this file. */
import { describe, expect, inject, it } from 'vitest';
import { call } from '../support/http.js';
import { loadOperations } from '@patchbay/api-types/documents';
import type { SpecOperation } from '@patchbay/api-types/operations';
import { exampleOf, invalidValueFor, validRequest, type RequestPlan } from './requests.js';

interface Case {
  name: string;
  request: RequestPlan;
  /** Send no X-Api-Key (otherwise the bootstrap admin key, which the mock accepts too). */
  withoutKey?: true;
}

function casesOf(operation: SpecOperation): Case[] {
  const cases: Case[] = [];
  const add = (name: string, request: RequestPlan) => cases.push({ name, request });
  if (operation.secured) cases.push({ name: 'without an API key', request: validRequest(operation), withoutKey: true });
  add('with an unknown query parameter', validRequest(operation, { query: { unexpected: '1' } }));
  for (const p of operation.parameters) {
    const bad = invalidValueFor(p.schema);
    if (bad === undefined) continue;
    if (p.in === 'path') add(`with an invalid path parameter ${p.name}`, validRequest(operation, { path: { [p.name]: bad } }));
    if (p.in === 'query') add(`with an invalid query parameter ${p.name}`, validRequest(operation, { query: { [p.name]: bad } }));
    if (p.in === 'header') add(`with an invalid header ${p.name}`, validRequest(operation, { headers: { [p.name]: bad } }));
  }
  if (operation.requestBody) {
    const valid = validRequest(operation);
    const example = JSON.parse(valid.body ?? '{}') as Record<string, unknown>;
    const schema = Object.values(operation.requestBody.content)[0]?.schema;
    if (Array.isArray(schema?.required) && schema.required.length > 0) add('with an empty object as body (missing required members)', { ...valid, body: '{}' });
    add('with an unknown body member', { ...valid, body: JSON.stringify({ ...example, unexpected_member: true }) });
    add('with an array as body', { ...valid, body: '[]' });
    // Members from the example, or from the schema when the example is empty (an empty body
    // of wrong-typed members would be a valid request, and a valid startKeyRotation starts one).
    const members = Object.keys(example).length > 0 ? Object.keys(example) : Object.keys((schema?.properties ?? {}) as Record<string, unknown>);
    if (members.length > 0) add('with a body member of the wrong type', { ...valid, body: JSON.stringify(Object.fromEntries(members.map((k) => [k, 12345]))) });
    add('with malformed JSON', { ...valid, body: '{"name": ' });
    add('with a text/plain body', { ...valid, headers: { ...valid.headers, 'Content-Type': 'text/plain' }, body: 'hello' });
    if (operation.requestBody.required) {
      const { body: _body, ...withoutBody } = valid;
      add('without a body', { ...withoutBody, headers: Object.fromEntries(Object.entries(valid.headers).filter(([k]) => k !== 'Content-Type')) });
    }
  }
  return cases;
}

const operations = loadOperations();
const pathCases: Case[] = [];
const seenPaths = new Set<string>();
for (const operation of operations) {
  if (seenPaths.has(operation.path)) continue;
  seenPaths.add(operation.path);
  const documented = operations.filter((o) => o.path === operation.path).map((o) => o.method.toUpperCase());
  const undocumented = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'].find((m) => !documented.includes(m));
  if (undocumented) pathCases.push({ name: `${undocumented} ${operation.path} (a method it does not document)`, request: { ...validRequest(operation), method: undocumented, body: undefined } as RequestPlan });
}
pathCases.push({ name: 'GET /v1/nothing-here (an unknown path)', request: { method: 'GET', url: '/v1/nothing-here', headers: {} } });

async function send(baseUrl: string, { request, withoutKey }: Case) {
  const result = await call(request.url, { baseUrl, method: request.method, headers: request.headers, body: request.body, ...(withoutKey ? { apiKey: null } : {}) });
  const json = result.json as Record<string, unknown> | undefined;
  if (json && result.status >= 400) {
    // The one member that differs by design; it must still be the X-Request-Id header.
    expect(json.request_id).toBe(result.headers.get('x-request-id'));
    delete json.request_id;
  }
  return { status: result.status, type: (result.headers.get('content-type') ?? '').split(';')[0], allow: result.headers.get('allow'), body: json ?? result.text };
}

describe('the mock rejects bad requests exactly as the server does', () => {
  const serverUrl = inject('serverUrl');
  const mockUrl = inject('mockUrl');

  describe.each(operations.map((o) => ({ ...o, label: `${o.operationId} (${o.method.toUpperCase()} ${o.path})` })))('$label', (operation) => {
    it.each(casesOf(operation))('$name', async (testCase) => {
      const [server, mock] = await Promise.all([send(serverUrl, testCase), send(mockUrl, testCase)]);
      expect(server.status, JSON.stringify(server.body)).toBeGreaterThanOrEqual(400);
      expect(mock).toEqual(server);
    });
  });

  it.each(pathCases)('$name', async (testCase) => {
    const [server, mock] = await Promise.all([send(serverUrl, testCase), send(mockUrl, testCase)]);
    expect(server.status).toBeGreaterThanOrEqual(400);
    expect(mock).toEqual(server);
  });

  it('covers every operation with at least one case, and each parameter the spec constrains', () => {
    for (const operation of operations) {
      const cases = casesOf(operation);
      expect(cases.length, operation.operationId).toBeGreaterThan(0);
      for (const p of operation.parameters.filter((p) => p.in === 'path')) {
        expect(exampleOf(p), `${operation.operationId}: path parameter ${p.name} needs an example`).toBeDefined();
        expect(cases.some((c) => c.name.endsWith(` ${p.name}`)), `${operation.operationId}: no case for ${p.name}`).toBe(true);
      }
    }
  });
});
