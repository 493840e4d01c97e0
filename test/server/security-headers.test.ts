/** Security headers on every response (apps/server/src/http/security-headers.ts, issue 11):
 * nothing an API answers may be cached or sniffed or framed, /docs runs under a strict
 * Content-Security-Policy (test/docs/ renders it in a real browser under that policy), and HSTS
 * is sent only when the server is reached over https. */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, type CallResult } from '../support/http.js';
import { spawnServer, type ServerRun } from '../support/processes.js';
import { describeEach, newTenantKey, serverTargets } from '../support/targets.js';

/** The directives of a Content-Security-Policy, by name. */
function directives(result: CallResult): Map<string, string[]> {
  const policy = result.headers.get('content-security-policy');
  expect(policy, 'a Content-Security-Policy').not.toBeNull();
  return new Map(
    policy!
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

function expectApiHeaders(result: CallResult, what: string): void {
  expect(result.headers.get('cache-control'), what).toBe('no-store');
  expect(result.headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(result.headers.get('x-frame-options'), what).toBe('DENY');
  const csp = directives(result);
  expect(csp.get('default-src'), what).toEqual(["'none'"]);
  expect(csp.get('frame-ancestors'), what).toEqual(["'none'"]);
  // Served over http: no HSTS (it would be ignored, and would pin a development host to https).
  expect(result.headers.get('strict-transport-security'), what).toBeNull();
}

describeEach(serverTargets())('security headers on the $name', (target) => {
  it('when a request succeeds, then the answer may not be stored, sniffed or framed', async () => {
    const { apiKey } = await newTenantKey(target, ['connections:read']);
    expectApiHeaders(await call('/v1/connections', { apiKey, baseUrl: target.baseUrl }), 'GET /v1/connections');
    expectApiHeaders(await call('/healthz', { apiKey: null, baseUrl: target.baseUrl }), 'GET /healthz');
  });

  it('when a new API key is shown, once, then that answer is no-store too', async () => {
    const tenant = await call('/admin/v1/tenants', { method: 'POST', baseUrl: target.baseUrl, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'headers' }) });
    expectApiHeaders(tenant, 'POST /admin/v1/tenants');
    const key = await call(`/admin/v1/tenants/${(tenant.json as { id: string }).id}/api-keys`, {
      method: 'POST',
      baseUrl: target.baseUrl,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'shown once', scopes: ['connections:read'] }),
    });
    expect(key.status).toBe(201);
    expectApiHeaders(key, 'POST .../api-keys');
  });

  it('when the answer is a problem, then it carries the same headers', async () => {
    const unauthenticated = await call('/v1/connections', { apiKey: null, baseUrl: target.baseUrl });
    expect(unauthenticated.status).toBe(401);
    expectApiHeaders(unauthenticated, '401');
    const notFound = await call('/v1/nowhere', { baseUrl: target.baseUrl });
    expect(notFound.status).toBe(404);
    expectApiHeaders(notFound, '404');
  });

  it('when /openapi/{api}.json is fetched, then it is nosniff and unframeable, and revalidated rather than stored', async () => {
    const result = await call('/openapi/connections.json', { apiKey: null, baseUrl: target.baseUrl });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-content-type-options')).toBe('nosniff');
    expect(directives(result).get('frame-ancestors')).toEqual(["'none'"]);
    expect(result.headers.get('cache-control')).toBe('no-cache');
  });

  it('when /docs is fetched, then its policy allows scripts from this origin only, never inline or eval, and no framing', async () => {
    const result = await call('/docs', { apiKey: null, baseUrl: target.baseUrl });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = directives(result);
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(result.headers.get('content-security-policy')).not.toMatch(/unsafe-eval|\*/);
    // The page itself has no inline script for the policy to refuse.
    expect(result.text).not.toMatch(/<script>(?!<\/script>)/);
  });
});

describe('HSTS', () => {
  let server: ServerRun;

  let port: number;

  beforeAll(async () => {
    // The server prints its public URL, not the port it listens on: give it a free port.
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    server = spawnServer({ PORT: String(port), PATCHBAY_ADMIN_KEY: 'pb_test_hsts_admin_key_0123456789abcdef', PATCHBAY_PUBLIC_URL: 'https://patchbay.example.com' });
    await server.waitForOutput(/Patchbay server: https:\/\/patchbay\.example\.com/, 90_000);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('when PATCHBAY_PUBLIC_URL is https, then every response carries Strict-Transport-Security', async () => {
    for (const path of ['/healthz', '/v1/connections', '/docs']) {
      const result = await call(path, { apiKey: null, baseUrl: `http://127.0.0.1:${port}` });
      expect(result.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains');
    }
  });
});
