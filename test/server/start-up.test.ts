/** Start-up (issue 13): every operation's request and response validators are compiled before the
 * server listens, so /readyz never answers before the first request of any operation can be
 * served at full speed. Observed through the server's own log lines, never through timing. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiNames, loadDocument } from '@patchbay/api-types/documents';
import { operationsOf } from '@patchbay/api-types/operations';
import { stripeSecret } from '../api/factories.js';
import { call } from '../support/http.js';
import { LISTENING, spawnServer, type ServerRun } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const ADMIN_KEY = registerSecret('pb_test_start_up_admin_key_0123456789abc', 'the start-up test bootstrap key');

interface LogLine {
  msg?: string;
  validator?: string;
  apis?: Record<string, { operations: number; warmed: number }>;
}

const logLines = (output: string): LogLine[] =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);

/** Log lines may reach the output after the answer: wait for the request's own line (pino
 * writes lines in order), then read what came before it. */
async function loggedThrough(run: ServerRun, result: { headers: Headers }): Promise<void> {
  const id = result.headers.get('x-request-id');
  expect(id).toBeTruthy();
  await run.waitForOutput(new RegExp(`"request_id":"${id!.replace(/[^\w-]/g, '.')}"[^\n]*"msg":"request"`));
}

const compiledOnRequest = (run: ServerRun) => logLines(run.output()).filter((l) => l.msg === 'validator compiled on a request');

describe('start-up', () => {
  let run: ServerRun;
  let baseUrl: string;
  beforeAll(async () => {
    run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'debug', PATCHBAY_WARM_UP: 'true' });
    [, baseUrl = ''] = await run.waitForOutput(LISTENING);
    await run.waitForOutput(/"msg":"patchbay server listening"/);
  });
  afterAll(async () => {
    await run?.stop();
  });

  it('compiles the validators of every operation of every API before it listens', () => {
    const lines = logLines(run.output());
    const compiled = lines.findIndex((l) => l.msg === 'validators compiled');
    const listening = lines.findIndex((l) => l.msg === 'patchbay server listening');
    expect(compiled, run.output()).toBeGreaterThanOrEqual(0);
    expect(compiled).toBeLessThan(listening);
    const expected = Object.fromEntries(
      apiNames.map((name) => {
        const operations = operationsOf(loadDocument(name), name).length;
        return [name, { operations, warmed: operations }];
      }),
    );
    expect(lines[compiled]!.apis).toEqual(expected);
  });

  it('compiles no validator on the requests that follow, of either API, valid or not', async () => {
    const json = { 'Content-Type': 'application/json' };
    expect((await call('/readyz', { apiKey: null, baseUrl })).status).toBe(200);
    const tenant = await call('/admin/v1/tenants', { method: 'POST', apiKey: ADMIN_KEY, baseUrl, headers: json, body: JSON.stringify({ name: 'start-up' }) });
    expect(tenant.status, tenant.text).toBe(201);
    const { id: tenantId } = tenant.json as { id: string };
    const issued = await call(`/admin/v1/tenants/${tenantId}/api-keys`, { method: 'POST', apiKey: ADMIN_KEY, baseUrl, headers: json, body: JSON.stringify({ name: 'k', scopes: ['connections:read', 'connections:write', 'credentials:write'] }) });
    expect(issued.status, issued.text).toBe(201);
    const key = registerSecret((issued.json as { api_key: string }).api_key, 'the API key issued by the start-up test');
    const created = await call('/v1/connections', { method: 'POST', apiKey: key, baseUrl, headers: json, body: JSON.stringify({ provider: 'stripe', reference: 'start-up-1', credentials: { secret_key: stripeSecret() } }) });
    expect(created.status, created.text).toBe(201);
    const { id } = created.json as { id: string };
    expect((await call(`/v1/connections/${id}`, { apiKey: key, baseUrl })).status).toBe(200);
    expect((await call('/v1/connections?limit=5', { apiKey: key, baseUrl })).status).toBe(200);
    const patched = await call(`/v1/connections/${id}`, { method: 'PATCH', apiKey: key, baseUrl, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '*' }, body: JSON.stringify({ name: 'renamed' }) });
    expect(patched.status, patched.text).toBe(200);
    expect((await call('/v1/connections', { method: 'POST', apiKey: key, baseUrl, headers: json, body: JSON.stringify({ provider: 42 }) })).status).toBe(400);
    const last = await call(`/v1/connections/${id}`, { apiKey: null, baseUrl });
    expect(last.status).toBe(401);
    await loggedThrough(run, last);
    expect(compiledOnRequest(run)).toEqual([]);
  });

  it('says so when a request does need a validator compiled (a media type the spec does not name)', async () => {
    // The check above could not fail if nothing ever reported a late compile: this one does.
    const tenant = await call('/admin/v1/tenants', { method: 'POST', apiKey: ADMIN_KEY, baseUrl, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ name: 'start-up-charset' }) });
    expect(tenant.status, tenant.text).toBe(201);
    await loggedThrough(run, tenant);
    expect(compiledOnRequest(run).map((l) => l.validator)).toContainEqual(expect.stringMatching(/^POST-\/admin\/v1\/tenants-application\/json; charset=utf-8/));
  });
});
