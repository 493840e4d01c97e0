/** @patchbay/mock/msw (issue 16): the mock as MSW handlers, for a frontend's unit tests and its
 * browser, with no mock process. In this file with msw/node and fetch, and inside chromium
 * with msw/browser's service worker on a small page the test serves: answers by id, the
 * scripted session (the same transcript as the real server's), and, for the statuses the
 * handlers can produce without the server's validator, the same problems as the server. */
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { build } from 'esbuild';
import { setupServer } from 'msw/node';
import { createPatchbayMock } from '@patchbay/mock/msw';
import { apiNames, loadDocument, loadOperations, loadProviderCatalog } from '@patchbay/api-types/documents';
import { browserSkipReason, launchChromium, recordOffences } from '../support/browser.js';
import { call, expectProblem } from '../support/http.js';
import { newTenantKey, serverTargets } from '../support/targets.js';
import { invalidValueFor, validRequest, type RequestPlan } from './requests.js';
import { violationsOf } from './session-check.js';
import { runSession, type Send, type Transcript } from './session.js';

const here = dirname(fileURLToPath(import.meta.url));
const BASE = 'http://patchbay.msw.test';
const STATEFUL_BASE = 'http://stateful.patchbay.msw.test';
const documents = Object.fromEntries(apiNames.map((api) => [api, loadDocument(api)]));
const providers = loadProviderCatalog();
const stateless = createPatchbayMock({ documents, providers, baseUrl: BASE });
const stateful = createPatchbayMock({ documents, providers, baseUrl: STATEFUL_BASE, stateful: true });
const msw = setupServer(...stateless.handlers, ...stateful.handlers);
const operations = loadOperations();
const unique = () => Math.random().toString(36).slice(2, 10);

type Json = Record<string, unknown>;

const sender = (baseUrl: string, apiKey: string | null): Send => async (method, path, options = {}) => {
  const result = await call(path, { baseUrl, method, apiKey, headers: options.headers ?? {}, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) });
  return { status: result.status, headers: result.headers, json: result.json };
};

let reference: Transcript;
beforeAll(async () => {
  // Everything but the handlers' own origin goes to the network: the real server, the mock.
  msw.listen({ onUnhandledRequest: 'bypass' });
  const server = serverTargets()[0]!;
  const { apiKey } = await newTenantKey(server);
  reference = await runSession(sender(server.baseUrl, apiKey), unique());
  expect(violationsOf(reference)).toEqual([]);
});
afterAll(() => msw.close());

describe('@patchbay/mock/msw with msw/node and fetch', () => {
  it('answers by id, as the mock process does', async () => {
    const vpos = 'conn_01jd5qb1d3f5h7k9n1q3s5v7x9';
    const got = await call(`/v1/connections/${vpos}`, { baseUrl: BASE, apiKey: 'k' });
    expect(got.status).toBe(200);
    expect((got.json as Json).id).toBe(vpos);
    expect(got.headers.get('etag')).toBe(`"${(got.json as Json).version}"`);
    const fromProcess = await call(`/v1/connections/${vpos}`, { baseUrl: inject('mockUrl'), apiKey: 'k' });
    expect(got.json).toEqual(fromProcess.json);
    const unknown = expectProblem(await call('/v1/connections/conn_01zzzzzzzzzzzzzzzzzzzzzzzz', { baseUrl: BASE, apiKey: 'k' }), 404, 'not_found');
    const unknownFromProcess = expectProblem(await call('/v1/connections/conn_01zzzzzzzzzzzzzzzzzzzzzzzz', { baseUrl: inject('mockUrl'), apiKey: 'k' }), 404, 'not_found');
    expect({ ...unknown, request_id: null }).toEqual({ ...unknownFromProcess, request_id: null });
  });

  it('answers every operation with its first success example, or what Prefer asks for', async () => {
    for (const operation of operations) {
      const plan = validRequest(operation);
      const answer = await call(plan.url, { baseUrl: BASE, method: plan.method, apiKey: 'k', headers: plan.headers, body: plan.body });
      expect(answer.status, `${operation.operationId}: ${answer.text}`).toBeLessThan(300);
    }
    const asked = await call('/v1/connections', { baseUrl: BASE, apiKey: 'k', headers: { Prefer: 'code=200, example=empty' } });
    expect(asked.json).toEqual({ data: [], next_cursor: null });
    const refused = await call('/v1/connections', { baseUrl: BASE, apiKey: 'k', headers: { Prefer: 'code=418' } });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ errors: [{ pointer: '/header/prefer' }] });
  });

  it('passes the scripted session with the same transcript as the server', async () => {
    const transcript = await runSession(sender(STATEFUL_BASE, `frontend-${unique()}`), unique());
    expect(violationsOf(transcript)).toEqual([]);
    expect(transcript.steps).toEqual(reference.steps);
  });

  it('resets one key, and keeps keys apart', async () => {
    const [key, other] = [`a-${unique()}`, `b-${unique()}`];
    const created = await call('/v1/connections', { baseUrl: STATEFUL_BASE, method: 'POST', apiKey: key, headers: { 'Content-Type': 'application/json' }, body: '{"provider":"stripe"}' });
    const id = (created.json as Json).id as string;
    expect((await call(`/v1/connections/${id}`, { baseUrl: STATEFUL_BASE, apiKey: other })).status).toBe(404);
    stateful.reset(key);
    expect((await call(`/v1/connections/${id}`, { baseUrl: STATEFUL_BASE, apiKey: key })).status).toBe(404);
  });
});

/** parity.test.ts's kinds of bad request, for the handlers. */
function parityCases(): { name: string; plan: RequestPlan; withoutKey?: true }[] {
  const cases: { name: string; plan: RequestPlan; withoutKey?: true }[] = [];
  const seen = new Set<string>();
  for (const operation of operations) {
    const plan = validRequest(operation);
    if (operation.secured) cases.push({ name: `${operation.operationId} without an API key`, plan, withoutKey: true });
    cases.push({ name: `${operation.operationId} with an unknown query parameter`, plan: validRequest(operation, { query: { unexpected: '1' } }) });
    for (const p of operation.parameters) {
      const bad = invalidValueFor(p.schema);
      if (bad === undefined) continue;
      if (p.in === 'path') cases.push({ name: `${operation.operationId} with an invalid path parameter ${p.name}`, plan: validRequest(operation, { path: { [p.name]: bad } }) });
      if (p.in === 'query') cases.push({ name: `${operation.operationId} with an invalid query parameter ${p.name}`, plan: validRequest(operation, { query: { [p.name]: bad } }) });
      if (p.in === 'header') cases.push({ name: `${operation.operationId} with an invalid header ${p.name}`, plan: validRequest(operation, { headers: { [p.name]: bad } }) });
    }
    if (operation.requestBody && plan.body) {
      const example = JSON.parse(plan.body) as Record<string, unknown>;
      const schema = Object.values(operation.requestBody.content)[0]?.schema;
      if (Array.isArray(schema?.required) && schema.required.length > 0) cases.push({ name: `${operation.operationId} with an empty object as body`, plan: { ...plan, body: '{}' } });
      cases.push({ name: `${operation.operationId} with an unknown body member`, plan: { ...plan, body: JSON.stringify({ ...example, unexpected_member: true }) } });
      cases.push({ name: `${operation.operationId} with an array as body`, plan: { ...plan, body: '[]' } });
      // (An example with no members has none to get wrong: that body would be valid.)
      if (Object.keys(example).length > 0) cases.push({ name: `${operation.operationId} with body members of the wrong type`, plan: { ...plan, body: JSON.stringify(Object.fromEntries(Object.keys(example).map((k) => [k, 12345]))) } });
      cases.push({ name: `${operation.operationId} with malformed JSON`, plan: { ...plan, body: '{"name": ' } });
      if (operation.requestBody.required) {
        const { body: _body, ...withoutBody } = plan;
        cases.push({ name: `${operation.operationId} without a body`, plan: { ...withoutBody, headers: Object.fromEntries(Object.entries(plan.headers).filter(([k]) => k !== 'Content-Type')) } });
      }
      cases.push({ name: `${operation.operationId} with a text/plain body`, plan: { ...plan, headers: { ...plan.headers, 'Content-Type': 'text/plain' }, body: 'hello' } });
    }
    if (!seen.has(operation.path)) {
      seen.add(operation.path);
      const documented = operations.filter((o) => o.path === operation.path).map((o) => o.method.toUpperCase());
      const other = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'].find((m) => !documented.includes(m));
      if (other) cases.push({ name: `${other} ${operation.path} (a method it does not document)`, plan: { ...plan, method: other, body: undefined } as RequestPlan });
    }
  }
  cases.push({ name: 'GET /v1/nothing-here (an unknown path)', plan: { method: 'GET', url: '/v1/nothing-here', headers: {} } });
  return cases;
}

describe('@patchbay/mock/msw refuses a bad request as the server does, where it can know', () => {
  // The handlers check a body against its schema with Ajv configured as the edge's validator
  // reports it (pointers, 'is required', 'is not allowed', enum values), and the rest of what
  // needs no validator; a case they answer differently from the server fails here.
  it.each(parityCases())('$name', async ({ plan, withoutKey }) => {
    const send = async (baseUrl: string, apiKey: string) => {
      const result = await call(plan.url, { baseUrl, method: plan.method, headers: plan.headers, body: plan.body, apiKey: withoutKey ? null : apiKey });
      const json = result.json as Json | undefined;
      if (json && result.status >= 400) {
        expect(json.request_id).toBe(result.headers.get('x-request-id'));
        delete json.request_id;
      }
      // Allow is a set (RFC 9110 10.2.1); the validator lists it in an order of its own.
      const allow = result.headers.get('allow')?.split(/,\s*/).sort().join(', ') ?? null;
      return { status: result.status, type: (result.headers.get('content-type') ?? '').split(';')[0], allow, body: json ?? result.text };
    };
    const [server, handlers] = [await send(inject('serverUrl'), inject('adminKey')), await send(BASE, 'any-key')];
    expect(handlers).toEqual(server);
  });
});

describe('@patchbay/mock/msw in chromium, with msw/browser', () => {
  const skip = browserSkipReason();
  let page: Server;
  let pageUrl = '';

  beforeAll(async () => {
    if (skip) return;
    const bundle = await build({ entryPoints: [join(here, 'browser', 'msw-page.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', write: false, logLevel: 'silent' });
    const worker = readFileSync(createRequire(import.meta.url).resolve('msw/mockServiceWorker.js'));
    const files: Record<string, [string, string | Uint8Array]> = {
      '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>MSW</title><script type="module" src="/page.js"></script>'],
      '/page.js': ['text/javascript', bundle.outputFiles[0]!.contents],
      '/mockServiceWorker.js': ['text/javascript', worker],
      '/fixtures.json': ['application/json', JSON.stringify({ documents, providers })],
      '/favicon.ico': ['image/x-icon', ''],
    };
    page = createServer((req, res) => {
      const file = files[new URL(req.url ?? '/', 'http://x').pathname];
      if (!file) return res.writeHead(404).end();
      res.writeHead(200, { 'Content-Type': file[0] }).end(file[1]);
    });
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    const address = page.address() as { port: number };
    pageUrl = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => (page ? page.close(resolve) : resolve(undefined)));
  });

  it.skipIf(!!skip)('passes the scripted session inside the page, with the same transcript as the server', async () => {
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      const offences = recordOffences(context, new URL(pageUrl).host);
      const tab = await context.newPage();
      await tab.goto(pageUrl, { waitUntil: 'load' });
      const transcript = (await tab.evaluate(([u, k]) => window.patchbaySession(u!, k!), [unique(), `browser-${unique()}`])) as Transcript;
      expect(violationsOf(transcript)).toEqual([]);
      expect(transcript.steps).toEqual(reference.steps);
      // Chromium logs every 4xx answer; the session's own (a taken reference, a stale If-Match,
      // an archived connection, another provider's reference, an unknown id) are checked by the
      // transcript above.
      expect(offences.consoleErrors.filter((e) => !/^Failed to load resource: the server responded with a status of 4\d\d .*\/v1\//.test(e))).toEqual([]);
      expect(offences.pageErrors).toEqual([]);
      expect(offences.foreignRequests).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
