/** The client's options: how it authenticates, names itself, which headers it adds, and
 * the hooks it calls around each attempt. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPatchbayClient, VERSION } from '@patchbay/client';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { serverTargets } from '../support/targets.js';
import { workspaceRoot } from '../support/paths.js';
import { exactly, FAST_RETRIES, proxiedTenant, stripeConnection } from './helpers.js';

const [target] = serverTargets();

describe(`client options against the ${target!.name}`, () => {
  it('when given an apiKey and a userAgent, then every request carries X-Api-Key and "<userAgent> patchbay-client/<version>"', async () => {
    const { client, proxy, apiKey } = await proxiedTenant(target!, { userAgent: 'acme-billing/2.3' });

    await client.providers.get('stripe');
    await client.GET('/v1/connections');

    for (const r of proxy.requests) {
      expect(r.headers['x-api-key']).toBe(apiKey);
      expect(r.headers['user-agent']).toBe(`acme-billing/2.3 patchbay-client/${VERSION}`);
      expect(r.headers.authorization).toBeUndefined();
    }
    expect(proxy.requests).toHaveLength(2);
  });

  it('the version in the User-Agent is the package\'s', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(join(workspaceRoot, 'packages', 'client', 'package.json'), 'utf8')).version);
  });

  it('when given a token, then it is sent as Authorization: Bearer (no X-Api-Key); a token the server does not trust is a 401', async () => {
    const proxy = await startFlakyProxy(target!.baseUrl);
    try {
      const client = createPatchbayClient({ baseUrl: proxy.url, token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig' });
      await expect(client.providers.get('stripe')).rejects.toMatchObject({ status: 401, code: 'unauthenticated' });
      expect(proxy.requests[0]!.headers.authorization).toBe('Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig');
      expect(proxy.requests[0]!.headers['x-api-key']).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });

  it('when given getToken, then it is asked again before each attempt, so a retry carries a fresh token', async () => {
    const proxy = await startFlakyProxy(target!.baseUrl);
    try {
      let n = 0;
      const client = createPatchbayClient({ baseUrl: proxy.url, getToken: async () => `token-${++n}`, retries: FAST_RETRIES });
      proxy.plan([{ status: 503 }], exactly('GET', '/v1/providers/stripe'));
      await expect(client.providers.get('stripe')).rejects.toMatchObject({ status: 401 });
      expect(proxy.matching().map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
    } finally {
      await proxy.close();
    }
  });

  it('when given two ways to authenticate, then the client refuses to be created', () => {
    expect(() => createPatchbayClient({ baseUrl: target!.baseUrl, apiKey: 'a', token: 'b' })).toThrow(/one of apiKey, token or getToken/);
  });

  it('when the admin key is given a tenantId, then it acts inside that tenant (X-Tenant-Id), per client or per call', async () => {
    const { direct, tenantId, proxy } = await proxiedTenant(target!);
    const admin = createPatchbayClient({ baseUrl: proxy.url, apiKey: target!.adminKey });

    const viaClient = await admin.withOptions({ tenantId }).connections.create(stripeConnection({ name: 'made by the platform' }));
    const viaCall = await admin.connections.create(stripeConnection({ name: 'made per call' }), { tenantId });

    expect(viaClient.created_by).toEqual({ type: 'bootstrap_admin', id: null });
    const seen = (await direct.connections.list().toArray()).map((c) => c.id).sort();
    expect(seen).toEqual([viaClient.id, viaCall.id].sort());
    expect(proxy.requests.filter((r) => r.method === 'POST').map((r) => r.headers['x-tenant-id'])).toEqual([tenantId, tenantId]);
  });

  it('when hooks are given, then onRequest sees (and may change) each attempt and onResponse each answer, retries included', async () => {
    const seen: string[] = [];
    const { client, proxy } = await proxiedTenant(target!, {
      headers: { 'X-Client-Wide': 'yes' },
      onRequest: ({ request, attempt }) => {
        seen.push(`request ${attempt} ${request.method} ${new URL(request.url).pathname} key=${request.headers.has('x-api-key')}`);
        const signed = new Request(request);
        signed.headers.set('X-Signature', `sig-${attempt}`);
        return signed;
      },
      onResponse: async ({ response, attempt }) => {
        seen.push(`response ${attempt} ${response.status} ${(await response.json()).slug ?? ''}`.trim());
      },
    });
    proxy.plan([{ status: 503 }], exactly('GET', '/v1/providers/stripe'));

    const stripe = await client.providers.get('stripe', { headers: { 'X-Per-Call': 'also' } });

    expect(stripe.slug).toBe('stripe');
    expect(seen).toEqual(['request 1 GET /v1/providers/stripe key=true', 'response 1 503', 'request 2 GET /v1/providers/stripe key=true', 'response 2 200 stripe']);
    expect(proxy.matching().map((r) => [r.headers['x-signature'], r.headers['x-client-wide'], r.headers['x-per-call']])).toEqual([
      ['sig-1', 'yes', 'also'],
      ['sig-2', 'yes', 'also'],
    ]);
  });
});
