/** Rate limits (apps/server/src/http/rate-limits.ts, issue 11): per key and per tenant, counted
 * in PostgreSQL so that they hold across server processes on one database, and for failed
 * authentication per client address; the IETF draft's RateLimit / RateLimit-Policy fields on
 * every counted response; a rate_limited 429 problem with Retry-After beyond a quota; never
 * for the probes. The limits are set low on servers of these tests' own. */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectProblem, type CallResult } from '../support/http.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { describeEach, newTenantKey, serverTargets } from '../support/targets.js';

const ADMIN_KEY = 'pb_test_rate_admin_key_0123456789abcdef';
const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

interface Item {
  name: string;
  params: Record<string, number>;
}

/** Parses a structured-field List of `"name";k=1;k=2` Items as the draft writes them (RFC 8941 sf-string items with integer parameters); throws on anything else. */
function parseList(field: string | null): Item[] {
  expect(field, 'the field is present').not.toBeNull();
  return field!.split(',').map((member) => {
    const match = /^\s*"([a-z_]+)"((?:;[a-z]+=\d+)+)\s*$/.exec(member);
    if (!match) throw new Error(`'${member}' of '${field}' is not a structured-field Item "name";key=integer...`);
    const params = Object.fromEntries(match[2]!.slice(1).split(';').map((p) => p.split('=')).map(([k, v]) => [k!, Number(v)]));
    return { name: match[1]!, params };
  });
}

/** What the response says of one policy: its quota (RateLimit-Policy) and what is left (RateLimit). */
function policy(result: CallResult, name: string): { q: number; w: number; r: number; t: number } | undefined {
  const policies = parseList(result.headers.get('ratelimit-policy'));
  const limits = parseList(result.headers.get('ratelimit'));
  const p = policies.find((item) => item.name === name);
  const l = limits.find((item) => item.name === name);
  if (!p || !l) return undefined;
  expect(Object.keys(p.params).sort()).toEqual(['q', 'w']);
  expect(Object.keys(l.params).sort()).toEqual(['r', 't']);
  return { q: p.params.q!, w: p.params.w!, r: l.params.r!, t: l.params.t! };
}

function expectRateLimited(result: CallResult, violated: string[], windowSeconds: number): void {
  const problem = expectProblem(result, 429, 'rate_limited') as { violated_policies?: string[] };
  expect(problem.violated_policies).toEqual(violated);
  const retryAfter = result.headers.get('retry-after');
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(Number(retryAfter)).toBeLessThanOrEqual(windowSeconds);
  for (const name of violated) expect(policy(result, name)?.r).toBe(0);
}

describeEach(serverTargets())('rate limit fields on the $name', (target) => {
  it('when a tenant key calls, then RateLimit-Policy names the per_key and per_tenant quotas and RateLimit counts down what is left', async () => {
    const { apiKey } = await newTenantKey(target, ['connections:read']);
    const first = await call('/v1/connections', { apiKey, baseUrl: target.baseUrl });
    const second = await call('/v1/connections', { apiKey, baseUrl: target.baseUrl });
    expect(second.status).toBe(200);
    for (const name of ['per_key', 'per_tenant']) {
      const before = policy(first, name)!;
      const after = policy(second, name)!;
      expect(before.q).toBeGreaterThan(0);
      expect(before.w).toBeGreaterThan(0);
      expect(after.r).toBe(before.r - 1);
      expect(after.t).toBeGreaterThanOrEqual(1);
      expect(after.t).toBeLessThanOrEqual(after.w);
    }
  });

  it('when the probes are called, even with a key, then nothing is counted and no RateLimit field is sent', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const result = await call(path, { baseUrl: target.baseUrl });
      expect(result.status, path).toBe(200);
      expect(result.headers.get('ratelimit'), path).toBeNull();
      expect(result.headers.get('ratelimit-policy'), path).toBeNull();
    }
  });
});

describe('rate limits across two server processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  let servers: RunningServer[] = [];
  const env = {
    PATCHBAY_ADMIN_KEY: ADMIN_KEY,
    PATCHBAY_MASTER_KEY: MASTER_KEY,
    PATCHBAY_RATE_LIMIT_PER_KEY: '3/60s',
    PATCHBAY_RATE_LIMIT_PER_TENANT: '5/60s',
  };

  beforeAll(async () => {
    const created = await createTestDatabase();
    if ('unavailable' in created) throw new Error(`this test needs PostgreSQL: ${created.unavailable}`);
    database = created;
    servers = await Promise.all([startServer({ store: 'postgres', databaseUrl: database.url }, env), startServer({ store: 'postgres', databaseUrl: database.url }, env)]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await database?.drop();
  });

  it('when one key spends its quota on both processes together, then the next request is a 429 on either, and other keys go on', async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const admin = (server: RunningServer, path: string, body?: unknown) =>
      call(path, { baseUrl: server.url, apiKey: ADMIN_KEY, ...(body ? { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } } : {}) });

    // The bootstrap key's quota is 3: one request on A, two on B.
    const tenant = await admin(a, '/admin/v1/tenants', { name: 'rate limited' });
    expect(tenant.status).toBe(201);
    const tenantId = (tenant.json as { id: string }).id;
    const keys: string[] = [];
    for (const [server, left] of [[b, 1], [b, 0]] as const) {
      const key = await admin(server, `/admin/v1/tenants/${tenantId}/api-keys`, { name: 'k', scopes: ['connections:read'] });
      expect(key.status, key.text).toBe(201);
      expect(policy(key, 'per_key')).toMatchObject({ q: 3, w: 60, r: left });
      keys.push((key.json as { api_key: string }).api_key);
    }
    expectRateLimited(await admin(a, '/admin/v1/tenants'), ['per_key'], 60);
    expectRateLimited(await admin(b, '/admin/v1/tenants'), ['per_key'], 60);

    // Tenant keys have quotas of their own: 3 each, and 5 for their tenant together.
    const [k1, k2] = keys as [string, string];
    const list = (server: RunningServer, apiKey: string) => call('/v1/connections', { baseUrl: server.url, apiKey });
    for (const server of [a, b, a]) expect((await list(server, k1)).status).toBe(200);
    expectRateLimited(await list(b, k1), ['per_key'], 60);
    // The refused request counted for the tenant too: 4 of its 5 are spent.
    const last = await list(a, k2);
    expect(last.status).toBe(200);
    expect(policy(last, 'per_tenant')).toMatchObject({ q: 5, r: 0 });
    expect(policy(last, 'per_key')).toMatchObject({ q: 3, r: 2 });
    expectRateLimited(await list(b, k2), ['per_tenant'], 60);
  });
});

/** A GET from a given local address (127.0.0.x all reach the loopback server). */
function getFrom(localAddress: string, url: string, apiKey: string | undefined): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { localAddress, headers: apiKey === undefined ? {} : { 'X-Api-Key': apiKey } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('failed authentication, per client address', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({ store: 'pglite' }, { PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, PATCHBAY_RATE_LIMIT_FAILED_AUTH: '3/60s' });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('when an address sends too many keys that are not valid, then it gets 429 whatever it presents, and another address is not affected', async () => {
    const url = `${server.url}/admin/v1/tenants`;
    const attacker = '127.0.0.2';
    for (const left of [2, 1, 0]) {
      const refused = await getFrom(attacker, url, `pb_not_a_key_${left}`);
      expect(refused.status).toBe(401);
      expect(refused.headers['ratelimit-policy']).toBe('"failed_auth";q=3;w=60');
      expect(refused.headers['ratelimit']).toMatch(new RegExp(`^"failed_auth";r=${left};t=\\d+$`));
    }
    const blocked = await getFrom(attacker, url, 'pb_not_a_key_3');
    expect(blocked.status).toBe(429);
    expect(blocked.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(blocked.body)).toMatchObject({ status: 429, code: 'rate_limited', violated_policies: ['failed_auth'] });
    // A right key from that address cannot be told from a wrong one until the window ends.
    expect((await getFrom(attacker, url, ADMIN_KEY)).status).toBe(429);
    // No credentials at all is not a failed authentication: a plain 401.
    expect((await getFrom(attacker, url, undefined)).status).toBe(401);
    // The probes are never limited.
    expect((await getFrom(attacker, `${server.url}/healthz`, ADMIN_KEY)).status).toBe(200);

    const someoneElse = '127.0.0.3';
    expect((await getFrom(someoneElse, url, ADMIN_KEY)).status).toBe(200);
    expect((await getFrom(someoneElse, url, 'pb_not_a_key')).status).toBe(401);
  });
});
