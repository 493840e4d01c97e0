/** Request logs (apps/server/src/platform/logger.ts, http/request-id.ts): one line per request with
 * its id, and never a secret, however the request ended. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretValue, stripeSecret } from '../api/factories.js';
import { call } from '../support/http.js';
import { LISTENING, spawnServer, type ServerRun } from '../support/processes.js';
import { findSecrets, registerSecret } from '../support/secrets.js';

const ADMIN_KEY = registerSecret('pb_test_logs_admin_key_0123456789abcdef', 'the logs test bootstrap key');
const WRONG_KEY = registerSecret('pb_test_logs_wrong_key_0123456789abcdef', 'a wrong key sent to the logs test server');

describe('request logs', () => {
  let run: ServerRun;
  let baseUrl: string;
  beforeAll(async () => {
    // The most verbose level: whatever any code logs at all shows up here.
    run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'trace' });
    [, baseUrl = ''] = await run.waitForOutput(LISTENING);
  });
  afterAll(async () => {
    await run?.stop();
  });

  it('never contain an API key or a credential, whatever the request and its outcome', async () => {
    const json = { 'Content-Type': 'application/json' };
    const tenant = await call('/admin/v1/tenants', { method: 'POST', apiKey: ADMIN_KEY, baseUrl, headers: json, body: JSON.stringify({ name: 'logs' }) });
    expect(tenant.status, tenant.text).toBe(201);
    const { id: tenantId } = tenant.json as { id: string };
    const issued = await call(`/admin/v1/tenants/${tenantId}/api-keys`, { method: 'POST', apiKey: ADMIN_KEY, baseUrl, headers: json, body: JSON.stringify({ name: 'k', scopes: ['connections:read', 'connections:write', 'credentials:write'] }) });
    expect(issued.status, issued.text).toBe(201);
    const tenantKey = registerSecret((issued.json as { api_key: string }).api_key, 'the API key issued by the logs test');
    // Every credential sent below is registered as a secret by call() (or here).
    const secret = stripeSecret();
    const webhook = secretValue('whsec_');
    const created = await call('/v1/connections', { method: 'POST', apiKey: tenantKey, baseUrl, headers: json, body: JSON.stringify({ provider: 'stripe', reference: 'logs-1', credentials: { secret_key: secret, webhook_secret: webhook } }) });
    expect(created.status, created.text).toBe(201);
    const { id } = created.json as { id: string };
    const requests: [string, Parameters<typeof call>[1]][] = [
      ['/v1/providers', {}],
      ['/v1/providers/stripe', {}],
      ['/v1/providers/acme-pay', {}],
      ['/v1/providers?limit=500', {}],
      ['/v1/nope', {}],
      ['/v1/providers', { method: 'POST', headers: json, body: `{"api_key": "${ADMIN_KEY}"` }],
      ['/v1/providers', { method: 'POST', headers: json, body: JSON.stringify({ api_key: ADMIN_KEY }) }],
      ['/v1/providers', { apiKey: WRONG_KEY }],
      ['/v1/providers', { headers: { Authorization: `Bearer ${ADMIN_KEY}` } }],
      // Credentials in requests that succeed, fail validation, are malformed, or conflict.
      [`/v1/connections/${id}/credentials`, { method: 'PUT', apiKey: tenantKey, headers: json, body: JSON.stringify({ credentials: { secret_key: stripeSecret() } }) }],
      ['/v1/connections', { method: 'POST', apiKey: tenantKey, headers: json, body: JSON.stringify({ provider: 'stripe', reference: 'logs-2', credentials: { secret_key: secretValue('not-a-stripe-key-') } }) }],
      ['/v1/connections', { method: 'POST', apiKey: tenantKey, headers: json, body: JSON.stringify({ provider: 'stripe', reference: 'logs-1', credentials: { secret_key: stripeSecret() } }) }],
      ['/v1/connections', { method: 'POST', apiKey: tenantKey, headers: json, body: `{"provider": "stripe", "credentials": {"secret_key": "${secretValue('sk_test_')}"` }],
      [`/v1/connections/${id}`, { method: 'PATCH', apiKey: tenantKey, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"99"' }, body: JSON.stringify({ credentials: { secret_key: stripeSecret() } }) }],
    ];
    const ids: string[] = [];
    for (const [path, options] of requests) {
      const result = await call(path, { ...options, apiKey: options?.apiKey ?? ADMIN_KEY, baseUrl });
      ids.push(result.headers.get('x-request-id')!);
    }
    await run.stop(); // every line is flushed once the process has exited

    const output = run.output();
    // The requests were logged (so the check below looked at something), each under its id.
    for (const requestId of ids) expect(output).toContain(`"request_id":"${requestId}"`);
    expect(findSecrets(output, 'the trace-level log of the server')).toEqual([]);
    expect(output).not.toContain(ADMIN_KEY);
    expect(output).not.toContain(secret);
  });
});
