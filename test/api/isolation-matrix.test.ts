/**
 * The isolation matrix, generated from the spec: every operation of both APIs, sent by every
 * kind of caller that must not succeed (no credentials; an unknown, revoked or rotated-out key;
 * a key or a token without the operation's scopes; a token with a bad signature, for another
 * audience, expired or without a tenant; another tenant's key; a tenant key naming another
 * tenant), gets its 401 / 403 / 404 problem, and the victim tenant's data is unchanged afterwards. A
 * new operation joins the matrix with no edit here: its request is built from its examples,
 * aimed at the victim's own resources.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDocument, loadOperations } from '@patchbay/api-types/documents';
import type { SpecOperation } from '@patchbay/api-types/operations';
import { validRequest } from '../mock/requests.js';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { bearer, newKeyPair, signToken } from '../support/tokens.js';
import { inject } from 'vitest';
import { createConnection, eventsOf, tenant, uniqueRef, type Connection } from './factories.js';

/** Every scope a tenant key may hold, from the spec itself: a new scope joins with no edit here. */
const TENANT_SCOPES = (loadDocument('connections') as unknown as { components: { schemas: { Scope: { enum: string[] } } } }).components.schemas.Scope.enum;
const operations = loadOperations().filter((operation) => operation.secured);
const declaresHeader = (operation: SpecOperation, name: string) => operation.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === name);
const isPlatformOperation = (operation: SpecOperation) => operation.scopes.some((scope) => !TENANT_SCOPES.includes(scope));
/** Operations that address one of the victim's resources by its id in the path. */
const addressesVictim = (operation: SpecOperation) => operation.parameters.some((p) => p.in === 'path' && ['connectionId', 'tenantId', 'keyId', 'webhookEndpointId'].includes(p.name));

interface Caller {
  name: string;
  /** Headers that carry (or fail to carry) the credential. */
  headers: (world: World) => Record<string, string>;
  /** The status this caller must get for the operation, or undefined when the case does not apply. */
  expected: (operation: SpecOperation) => number | undefined;
}

interface World {
  victim: { tenantId: string; apiKey: string; keyId: string; connection: Connection };
  revokedKey: string;
  stranger: { apiKey: string };
  /** A key of the victim's own tenant holding every tenant scope except those of the operation. */
  scopeless: Map<string, string>;
  /** A key of the victim's that was rotated with no overlap: its life has ended. */
  rotatedOutKey: string;
  tokens: { badSignature: string; otherAudience: string; expired: string; noTenant: string; scopeless: Map<string, string> };
}

const CALLERS: Caller[] = [
  { name: 'no credentials', headers: () => ({}), expected: () => 401 },
  { name: 'an unknown key', headers: () => ({ 'X-Api-Key': `pb_${'x'.repeat(43)}` }), expected: () => 401 },
  { name: 'a revoked key', headers: (w) => ({ 'X-Api-Key': w.revokedKey }), expected: () => 401 },
  { name: 'a key rotated out with no overlap', headers: (w) => ({ 'X-Api-Key': w.rotatedOutKey }), expected: () => 401 },
  { name: 'a token with a bad signature', headers: (w) => bearer(w.tokens.badSignature), expected: () => 401 },
  { name: 'a token for another audience', headers: (w) => bearer(w.tokens.otherAudience), expected: () => 401 },
  { name: 'an expired token', headers: (w) => bearer(w.tokens.expired), expected: () => 401 },
  { name: 'a token without a tenant claim', headers: (w) => bearer(w.tokens.noTenant), expected: () => 401 },
  {
    name: 'a token of the tenant without the operation’s scopes',
    headers: () => ({}), // filled per operation below
    expected: () => 403,
  },
  {
    name: 'a key of the tenant without the operation’s scopes',
    headers: () => ({}), // filled per operation below
    expected: () => 403,
  },
  {
    name: "another tenant's key with every tenant scope",
    headers: (w) => ({ 'X-Api-Key': w.stranger.apiKey }),
    expected: (operation) => (isPlatformOperation(operation) ? 403 : addressesVictim(operation) ? 404 : undefined),
  },
  {
    name: 'a tenant key naming the victim tenant with X-Tenant-Id',
    headers: (w) => ({ 'X-Api-Key': w.stranger.apiKey, 'X-Tenant-Id': w.victim.tenantId }),
    expected: (operation) => (declaresHeader(operation, 'x-tenant-id') ? 403 : undefined),
  },
];

describeEach(serverTargets())('isolation matrix on the $name', (target: Target) => {
  let world: World;
  const snapshot: { events?: unknown; keys?: unknown } = {};
  let cases = 0;

  beforeAll(async () => {
    const victim = await tenant(target, TENANT_SCOPES);
    const connection = await createConnection(victim.client, { reference: uniqueRef('victim') });
    const admin = target.client();
    const mint = async (scopes: string[]) => {
      const { data } = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: victim.tenantId } }, body: { name: 'matrix', scopes: scopes as never } });
      return data!;
    };
    const revoked = await mint(['connections:read']);
    await admin.DELETE('/admin/v1/tenants/{tenantId}/api-keys/{keyId}', { params: { path: { tenantId: victim.tenantId, keyId: revoked.id } } });
    const scopeless = new Map<string, string>();
    for (const operation of operations) {
      const others = TENANT_SCOPES.filter((scope) => !operation.scopes.includes(scope));
      scopeless.set(operation.operationId, (await mint(others)).api_key);
    }
    const stranger = await tenant(target, TENANT_SCOPES);
    const rotated = await mint(['connections:read']);
    const rotation = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys/{keyId}/rotate', { params: { path: { tenantId: victim.tenantId, keyId: rotated.id }, query: { overlap_seconds: 0 } } });
    expect(rotation.response.status).toBe(200);
    const claims = { tenant_id: victim.tenantId, scope: TENANT_SCOPES.join(' ') };
    const impostor = await newKeyPair('ES256', inject('tokenKeys').ES256.kid);
    const tokens = {
      badSignature: await signToken(claims, { key: impostor.privateJwk }),
      otherAudience: await signToken(claims, { audience: 'https://another-service.example.com' }),
      expired: await signToken(claims, { expiresIn: -600 }),
      noTenant: await signToken({ scope: TENANT_SCOPES.join(' ') }),
      scopeless: new Map<string, string>(),
    };
    for (const operation of operations) {
      const others = TENANT_SCOPES.filter((scope) => !operation.scopes.includes(scope));
      tokens.scopeless.set(operation.operationId, await signToken({ tenant_id: victim.tenantId, scope: others.join(' ') }));
    }
    world = { victim: { ...victim, connection }, revokedKey: revoked.api_key, stranger, scopeless, rotatedOutKey: rotated.api_key, tokens };
    snapshot.events = await eventsOf(victim.client, connection.id);
    snapshot.keys = (await admin.GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: victim.tenantId }, query: { limit: 200 } } })).data;
  });

  afterAll(() => {
    console.log(`isolation matrix on the ${target.name}: ${cases} cases (${operations.length} operations x ${CALLERS.length} callers, where they apply)`);
  });

  // A caller whose case does not apply to an operation (another tenant's key on a list: it
  // sees its own data, checked below) is left out of the matrix, not counted as a pass.
  const matrix = operations.flatMap((operation) =>
    CALLERS.flatMap((caller) => {
      const expected = caller.expected(operation);
      return expected === undefined ? [] : [[operation.operationId, caller.name, expected] as const];
    }),
  );

  it.for(matrix)('%s by %s: %i', async ([operationId, callerName, expected]) => {
    const operation = operations.find((o) => o.operationId === operationId)!;
    const caller = CALLERS.find((c) => c.name === callerName)!;
    cases++;
    const credential = caller.name.startsWith('a key of the tenant without')
      ? { 'X-Api-Key': world.scopeless.get(operationId)! }
      : caller.name.startsWith('a token of the tenant without')
        ? bearer(world.tokens.scopeless.get(operationId)!)
        : caller.headers(world);
    const plan = validRequest(operation, {
      path: { connectionId: world.victim.connection.id, tenantId: world.victim.tenantId, keyId: world.victim.keyId, reference: world.victim.connection.reference!, slug: 'stripe' },
      headers: credential,
    });
    const response = await fetch(new URL(plan.url, target.baseUrl), { method: plan.method, headers: plan.headers, ...(plan.body === undefined ? {} : { body: plan.body }) });
    const text = await response.text();
    expect(response.status, text).toBe(expected);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = JSON.parse(text);
    expect(problem).toMatchObject({ status: expected, request_id: response.headers.get('x-request-id') });
    if (expected === 403 && caller.name.includes('of the tenant without')) expect(problem.required_scopes).toEqual(expect.arrayContaining(operation.scopes));
    // Nothing of the victim's leaks into the problem.
    expect(text).not.toContain(world.victim.connection.name);
  });

  it("when another tenant's key lists anything, then none of the victim's data is in the answers", async () => {
    const lists = operations.filter((o) => o.method === 'get' && !addressesVictim(o) && !isPlatformOperation(o));
    expect(lists.length).toBeGreaterThan(0);
    for (const operation of lists) {
      const plan = validRequest(operation, { path: { slug: 'stripe' }, headers: { 'X-Api-Key': world.stranger.apiKey } });
      const response = await fetch(new URL(plan.url, target.baseUrl), { headers: plan.headers });
      const text = await response.text();
      expect([200, 404], `${operation.operationId}: ${text}`).toContain(response.status);
      expect(text, operation.operationId).not.toContain(world.victim.connection.id);
      expect(text, operation.operationId).not.toContain(world.victim.tenantId);
    }
  });

  it("when the matrix has run, then the victim's connection, its events and its keys are as they were", async () => {
    const { victim } = world;
    const client = target.client({ apiKey: victim.apiKey });
    const now = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: victim.connection.id } } });
    expect(now.data).toEqual(victim.connection);
    expect(await eventsOf(client, victim.connection.id)).toEqual(snapshot.events);
    const keys = (await target.client().GET('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: victim.tenantId }, query: { limit: 200 } } })).data;
    // last_used_at moves when a key authenticates; nothing else may.
    const strip = (page: unknown) => JSON.parse(JSON.stringify(page), (key, value) => (key === 'last_used_at' ? undefined : value));
    expect(strip(keys)).toEqual(strip(snapshot.keys));
  });
});
