/** CORS on the server (PATCHBAY_CORS_ORIGINS): a browser app on a listed origin may call the
 * API and read the headers it needs; any other origin gets no CORS headers, so the browser
 * refuses the answer. Off by default. */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LISTENING, spawnServer, startServer, type RunningServer } from '../support/processes.js';

const APP = 'http://localhost:5173';

describe('CORS', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ store: 'pglite' }, { PATCHBAY_ADMIN_KEY: inject('adminKey'), PATCHBAY_CORS_ORIGINS: `${APP}, https://admin.example.com` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const preflight = (baseUrl: string, origin: string) =>
    fetch(new URL('/v1/connections', baseUrl), {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key, content-type, idempotency-key' },
    });

  it('answers a preflight from a listed origin with the method and headers asked for', async () => {
    const response = await preflight(server.url, APP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('access-control-allow-headers')).toBe('x-api-key, content-type, idempotency-key');
    expect(response.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets a listed origin read answers, problems included, with X-Request-Id and ETag exposed', async () => {
    // With the key an answer (200), without it a problem (401): both readable by the app.
    for (const [headers, status] of [[{ 'X-Api-Key': inject('adminKey') }, 200], [{}, 401]] as [Record<string, string>, number][]) {
      const response = await fetch(new URL('/v1/providers', server.url), { headers: { Origin: 'https://admin.example.com', ...headers } });
      expect(response.status).toBe(status);
      if (status === 401) expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
      expect(response.headers.get('vary')).toMatch(/Origin/);
      expect(response.headers.get('access-control-expose-headers')).toMatch(/X-Request-Id/);
      expect(response.headers.get('access-control-expose-headers')).toMatch(/ETag/);
    }
  });

  it('gives an origin that is not listed no CORS headers', async () => {
    const response = await preflight(server.url, 'https://evil.example.net');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(response.status).toBe(405);
    const get = await fetch(new URL('/v1/providers', server.url), { headers: { Origin: 'https://evil.example.net', 'X-Api-Key': inject('adminKey') } });
    expect(get.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('is off by default', async () => {
    const response = await preflight(inject('serverUrl'), APP);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.for(['https://app.example.com/', 'app.example.com', 'ftp://files.example.com'])('refuses to start when PATCHBAY_CORS_ORIGINS lists %s, naming the variable', async (origin) => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: inject('adminKey'), PATCHBAY_CORS_ORIGINS: `${APP},${origin}` });
    const { code } = await run.exit();
    expect(code, run.output()).not.toBe(0);
    expect(run.output()).toContain('PATCHBAY_CORS_ORIGINS');
    expect(run.output()).not.toMatch(LISTENING);
  });
});
