/** @patchbay/client's `token` and `getToken` against the real server (issue 11): the server
 * trusts the run's JWKS (support/jwks-server.ts), so a client holding a JWT from that
 * identity provider works exactly as one holding an API key. */
import { expect, it, onTestFinished } from 'vitest';
import { createPatchbayClient } from '@patchbay/client';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { describeEach, serverTargets } from '../support/targets.js';
import { signToken } from '../support/tokens.js';
import { tenant } from '../api/factories.js';
import { exactly, FAST_RETRIES, stripeConnection } from './helpers.js';

const SCOPES = 'connections:read connections:write credentials:write';

describeEach(serverTargets())('client Bearer tokens against the $name', (target) => {
  it('when a client is given a token, then it creates, lists and updates connections of the token’s tenant', async () => {
    const { tenantId } = await tenant(target);
    const client = createPatchbayClient({ baseUrl: target.baseUrl, token: await signToken({ tenant_id: tenantId, scope: SCOPES }, { subject: 'svc-sync' }) });
    const created = await client.connections.create(stripeConnection({ name: 'via token' }));
    expect(created.created_by).toEqual({ type: 'token', id: null, subject: 'svc-sync' });
    expect((await client.connections.list().toArray()).map((c) => c.id)).toEqual([created.id]);
    const updated = await client.connections.update(created.id, { priority: 7 }, { ifMatch: created });
    expect(updated.priority).toBe(7);
  });

  it('when a client is given a token that has expired, then it gets the typed 401 saying so', async () => {
    const { tenantId } = await tenant(target);
    const client = createPatchbayClient({ baseUrl: target.baseUrl, token: await signToken({ tenant_id: tenantId, scope: SCOPES }, { expiresIn: -3600 }) });
    await expect(client.connections.list().toArray()).rejects.toMatchObject({ status: 401, code: 'unauthenticated', problem: { detail: expect.stringMatching(/expired/) } });
  });

  it('when given getToken, then it is asked before each attempt, and the retry after a 503 carries the refreshed token the server accepts', async () => {
    const { tenantId } = await tenant(target);
    const proxy = await startFlakyProxy(target.baseUrl);
    onTestFinished(() => proxy.close());
    const issued: string[] = [];
    const client = createPatchbayClient({
      baseUrl: proxy.url,
      retries: FAST_RETRIES,
      getToken: async () => {
        // An identity provider's SDK hands out a new token each time it is asked.
        const token = await signToken({ tenant_id: tenantId, scope: SCOPES, n: issued.length + 1 });
        issued.push(token);
        return token;
      },
    });
    proxy.plan([{ status: 503 }], exactly('GET', '/v1/connections'));
    expect(await client.connections.list().toArray()).toEqual([]);
    expect(proxy.matching().map((r) => r.headers.authorization)).toEqual(issued.map((token) => `Bearer ${token}`));
    expect(new Set(issued).size).toBe(2);
  });
});
