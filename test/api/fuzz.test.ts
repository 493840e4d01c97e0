/** Fuzzing from the spec (issue 12): for every operation of both APIs, requests generated with
 * fast-check from the operation model and the spec's examples, valid and hostile (wrong types,
 * huge and unicode strings, nulls, extra and prototype members, deep nesting, broken JSON, wrong
 * content types, tampered cursors, ETags and ids), sent to the real servers (PGlite and
 * PostgreSQL). Every answer: never a 5xx, a 4xx is an application/problem+json with its status,
 * and no secret this suite registered in the body or any header. Afterwards every connection
 * the fuzz wrote to reads back (GET 200) and equals its last acknowledged write (the reply of
 * highest version). The seed is printed; PATCHBAY_FUZZ_SEED reproduces a run and
 * PATCHBAY_FUZZ_REQUESTS sets the total (default 10,000, split over the available servers).
 * No request carries invalid credentials: the failed-authentication limit is per client address,
 * and the servers are shared with the other test files. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, it } from 'vitest';
import { loadOperations } from '@patchbay/api-types/documents';
import type { SpecOperation } from '@patchbay/api-types/operations';
import { exampleOf, firstExample, validRequest, type RequestPlan } from '../mock/requests.js';
import { assertNoSecretsInResponse, registerSecret } from '../support/secrets.js';
import { available, describeEach, newTenantKey, serverTargets, type Target } from '../support/targets.js';

const SEED = Number(process.env.PATCHBAY_FUZZ_SEED ?? Date.now() % 2 ** 31);
const TOTAL = Number(process.env.PATCHBAY_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 8;
const targets = serverTargets();
const perTarget = Math.ceil(TOTAL / Math.max(1, available(targets).length));
const operations = loadOperations();
const TENANT_SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'audit:read'];
/** The platform scopes the fuzz's own platform key holds: not encryption_keys:write, so that no
 * fuzzed request starts a rotation on the shared servers (those requests are 403s). */
const PLATFORM_SCOPES = ['tenants:read', 'tenants:write', 'platform_keys:read', 'platform_keys:write', 'encryption_keys:read'];
let sent = 0;

console.log(`fuzz: seed ${SEED} (PATCHBAY_FUZZ_SEED=${SEED} reproduces it), ${perTarget} requests per server`);
afterAll(() => console.log(`fuzz: ${sent} requests sent (seed ${SEED})`));

/** A secret of ours, in the shape Stripe's credentials schema takes. */
const secretKey = () => registerSecret(`sk_test_fuzz${randomBytes(12).toString('hex')}`, 'a Stripe secret key the fuzz sent');

/** Values that are wrong for most members: types, sizes, unicode, nulls, nesting. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(2 ** 31, -1, 0, 2 ** 53, 1e308),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '💳'.repeat(300), 'x'.repeat(70_000), '../../etc/passwd', "' OR 1=1 --", '{{7*7}}'),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 30 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 5 }),
  fc.integer({ min: 20, max: 60 }).map((depth) => JSON.parse(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)),
  fc.integer({ min: 20, max: 60 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`)),
);

/** Member names that are not in any schema, prototype members included. */
const hostileName = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'credentials', 'id', 'version', 'x'.repeat(5000)), fc.string({ maxLength: 20 }));

type Mutation = (body: unknown, rng: { pick: number; value: unknown; name: string }) => string;

/** Every member path of a JSON value (objects and arrays), the root included. */
function memberPaths(value: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((item, i) => memberPaths(item, [...path, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) memberPaths(v, [...path, k], out);
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

/** JSON text of an object with a member put first by text, so that `__proto__` stays a member, not a prototype. */
function withMember(body: unknown, name: string, value: unknown): string {
  const text = JSON.stringify(body && typeof body === 'object' && !Array.isArray(body) ? body : {});
  const member = `${JSON.stringify(name)}:${JSON.stringify(value ?? null)}`;
  return text === '{}' ? `{${member}}` : `{${member},${text.slice(1)}`;
}

const bodyMutations: Mutation[] = [
  // A member replaced by a hostile value.
  (body, r) => {
    const paths = memberPaths(body);
    return JSON.stringify(setAt(body, paths[r.pick % paths.length]!, r.value) ?? null);
  },
  // An extra (or prototype) member, at the root or inside an object member.
  (body, r) => {
    const objects = memberPaths(body).filter((p) => {
      let node: unknown = body;
      for (const k of p) node = (node as Record<string | number, unknown>)[k];
      return node !== null && typeof node === 'object' && !Array.isArray(node);
    });
    const at = objects.length ? objects[r.pick % objects.length]! : [];
    if (at.length === 0) return withMember(body, r.name, r.value);
    let node: unknown = body;
    for (const k of at) node = (node as Record<string | number, unknown>)[k];
    const inner = `{${JSON.stringify(r.name)}:${JSON.stringify(r.value ?? null)}${Object.keys(node as object).length ? ',' : ''}${JSON.stringify(node).slice(1)}`;
    return JSON.stringify(setAt(body, at, '__INNER__')).replace('"__INNER__"', inner);
  },
  // A member removed.
  (body, r) => {
    const paths = memberPaths(body).filter((p) => p.length > 0);
    if (!paths.length) return 'null';
    const path = paths[r.pick % paths.length]!;
    const copy = structuredClone(body) as Record<string | number, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
    if (Array.isArray(node)) node.splice(Number(path.at(-1)), 1);
    else delete node[path.at(-1)!];
    return JSON.stringify(copy);
  },
  // Broken JSON: truncated, or not JSON at all.
  (body, r) => {
    const text = JSON.stringify(body ?? {});
    return r.pick % 3 === 0 ? text.slice(0, Math.max(1, r.pick % text.length)) : r.pick % 3 === 1 ? `${text}}` : typeof r.value === 'string' ? r.value : 'nope';
  },
  // A whole body of the wrong kind.
  (_body, r) => JSON.stringify(r.value ?? null),
];

const hostileParam = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', '-1', '0', '1e9', '2147483648', 'null', 'true', '%00', '\u202e', 'x'.repeat(3000), '*', '"1"', 'W/"1"', '"999999"', '"1", "2"'),
);

interface Context {
  tenantKey: string;
  platformKey: string;
  tenantId: string;
  /** Connections the fuzz may write to, and one that takes the sync-run reports. */
  pool: string[];
  syncTarget: string;
  cursor: string;
}

/** The key an operation is called with: the fuzz's platform key on the admin API, its tenant key otherwise. */
const keyFor = (op: SpecOperation, ctx: Context) => (op.api === 'admin' ? ctx.platformKey : ctx.tenantKey);

function pathValues(op: SpecOperation, ctx: Context, pick: number): Record<string, string> {
  const values: Record<string, string> = {};
  for (const p of op.parameters.filter((q) => q.in === 'path')) {
    if (p.name === 'connectionId') values[p.name] = op.operationId === 'reportSyncRun' ? ctx.syncTarget : ctx.pool[pick % ctx.pool.length]!;
    else if (p.name === 'tenantId') values[p.name] = ctx.tenantId;
    else values[p.name] = String(exampleOf(p));
  }
  return values;
}

/** A request plan for one operation: valid from the examples, then one hostile change. */
function planArbitrary(ctx: Context): fc.Arbitrary<{ op: SpecOperation; plan: RequestPlan; kind: string }> {
  return fc
    .record({
      opIndex: fc.nat({ max: operations.length - 1 }),
      kind: fc.constantFrom('valid', 'body', 'body', 'body', 'content-type', 'query', 'path', 'header', 'cursor'),
      mutation: fc.nat({ max: bodyMutations.length - 1 }),
      pick: fc.nat({ max: 10_000 }),
      value: hostileValue,
      name: hostileName,
      param: hostileParam,
    })
    .map(({ opIndex, kind, mutation, pick, value, name, param }) => {
      const op = operations[opIndex]!;
      const media = op.requestBody ? Object.values(op.requestBody.content)[0] : undefined;
      let example = firstExample(media);
      if (example && typeof example === 'object' && 'credentials' in example) {
        // Our own credentials, registered as secrets, in place of the example's.
        example = { ...example, credentials: { secret_key: secretKey() } };
      }
      if (op.operationId === 'replaceConnectionCredentials') example = { secret_key: secretKey() };
      const plan = validRequest(op, { path: pathValues(op, ctx, pick), ...(example === undefined ? {} : { body: example }) });
      plan.headers['X-Api-Key'] = keyFor(op, ctx);
      const params = op.parameters.filter((p) => p.in === 'query' || p.in === 'header');
      switch (kind) {
        case 'body':
          if (!op.requestBody) break; // a body on a GET or DELETE is not sent by fetch
          plan.body = bodyMutations[mutation]!(example, { pick, value, name });
          plan.headers['Content-Type'] ??= 'application/json';
          break;
        case 'content-type':
          plan.headers['Content-Type'] = ['text/plain', 'application/xml', 'application/json; charset=utf-16', 'multipart/form-data', '', 'application/merge-patch+json', 'application/x-www-form-urlencoded'][pick % 7]!;
          if (op.requestBody) plan.body ??= JSON.stringify(example ?? {});
          break;
        case 'query':
        case 'header': {
          const candidates = params.filter((p) => (kind === 'query' ? p.in === 'query' : p.in === 'header'));
          const p = candidates.length ? candidates[pick % candidates.length]! : undefined;
          if (kind === 'query') {
            const url = new URL(plan.url, 'http://x');
            url.searchParams.set(p?.name ?? name.slice(0, 30) ?? 'unknown', param);
            plan.url = `${url.pathname}${url.search}`;
          } else {
            const header = p?.name ?? ['If-Match', 'If-None-Match', 'Idempotency-Key', 'X-Request-Id', 'X-Tenant-Id'][pick % 5]!;
            // Header values must be ByteStrings without line breaks: keep the printable bytes.
            plan.headers[header] = param.replace(/[^\x20-\x7e]/g, '') || '""';
          }
          break;
        }
        case 'path': {
          const names = op.parameters.filter((q) => q.in === 'path').map((q) => q.name);
          if (names.length) {
            const values = pathValues(op, ctx, pick);
            values[names[pick % names.length]!] = param;
            plan.url = validRequest(op, { path: values }).url;
          }
          break;
        }
        case 'cursor': {
          const url = new URL(plan.url, 'http://x');
          const c = ctx.cursor;
          const i = pick % c.length;
          const tampered = [c.slice(0, i) + (c[i] === 'A' ? 'B' : 'A') + c.slice(i + 1), c.slice(0, i), `${c}x`, Buffer.from(param).toString('base64url'), c.split('').reverse().join('')][pick % 5]!;
          url.searchParams.set('cursor', tampered);
          plan.url = `${url.pathname}${url.search}`;
          break;
        }
      }
      return { op, plan, kind };
    });
}

interface Sent {
  status: number;
  body: string;
  headers: Headers;
}

async function send(baseUrl: string, plan: RequestPlan): Promise<Sent> {
  const response = await fetch(`${baseUrl}${plan.url}`, { method: plan.method, headers: plan.headers, ...(plan.body === undefined ? {} : { body: plan.body })});
  sent++;
  return { status: response.status, body: await response.text(), headers: response.headers };
}

/** What must hold of every answer; a message for each thing that does not. */
function check(exchange: string, answer: Sent): string[] {
  const failures: string[] = [];
  if (answer.status >= 500) failures.push(`${exchange}: ${answer.status} ${answer.body.slice(0, 400)}`);
  if (answer.status >= 400) {
    if (!(answer.headers.get('content-type') ?? '').startsWith('application/problem+json')) failures.push(`${exchange}: ${answer.status} is not application/problem+json (${answer.headers.get('content-type')})`);
    else {
      try {
        const problem = JSON.parse(answer.body) as { status?: number; code?: string };
        if (problem.status !== answer.status || typeof problem.code !== 'string') failures.push(`${exchange}: problem ${answer.body.slice(0, 200)} does not match status ${answer.status}`);
      } catch {
        failures.push(`${exchange}: ${answer.status} body is not JSON: ${answer.body.slice(0, 200)}`);
      }
    }
  }
  try {
    assertNoSecretsInResponse(exchange, answer.headers, answer.body);
  } catch (error) {
    failures.push((error as Error).message);
  }
  return failures;
}

const describeServers = describeEach(targets);

describeServers('fuzzing every operation of both APIs on the $name', (target: Target) => {
  const ctx = {} as Context;
  /** Connection id -> the acknowledged reply of highest version. */
  const acknowledged = new Map<string, { version: number; body: Record<string, unknown> }>();

  beforeAll(async () => {
    const tenant = await newTenantKey(target, TENANT_SCOPES);
    ctx.tenantKey = tenant.apiKey;
    ctx.tenantId = tenant.tenantId;
    const admin = { 'X-Api-Key': target.adminKey, 'Content-Type': 'application/json' };
    const platform = await fetch(`${target.baseUrl}/admin/v1/platform-keys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'fuzz', scopes: PLATFORM_SCOPES }) });
    if (platform.status !== 201) throw new Error(`could not create the fuzz's platform key: ${platform.status} ${await platform.text()}`);
    ctx.platformKey = registerSecret(((await platform.json()) as { api_key: string }).api_key, 'the fuzz platform key');
    const headers = { 'X-Api-Key': ctx.tenantKey, 'Content-Type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = await fetch(`${target.baseUrl}/v1/connections`, { method: 'POST', headers, body: JSON.stringify({ provider: 'stripe', reference: `fuzz-${i}`, credentials: { secret_key: secretKey() } }) });
      const body = (await created.json()) as { id: string; version: number };
      if (created.status !== 201) throw new Error(`could not create a connection: ${created.status} ${JSON.stringify(body)}`);
      ids.push(body.id);
      acknowledged.set(body.id, { version: body.version, body: body as unknown as Record<string, unknown> });
    }
    ctx.syncTarget = ids.pop()!;
    ctx.pool = ids;
    const page = (await (await fetch(`${target.baseUrl}/v1/connections?limit=1`, { headers })).json()) as { next_cursor: string | null };
    if (!page.next_cursor) throw new Error('no cursor to tamper with');
    ctx.cursor = page.next_cursor;
  }, 60_000);

  it(`answers ${perTarget} generated requests with no 5xx, a problem for every 4xx and no secret; every connection it wrote reads back as acknowledged`, async ({ expect }) => {
    const seed = SEED + (target.name.includes('PostgreSQL') ? 1 : 0);
    const plans = fc.sample(planArbitrary(ctx), { seed, numRuns: perTarget });
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < plans.length && failures.length < 20) {
        const index = next++;
        const { op, plan, kind } = plans[index]!;
        const exchange = `#${index} (seed ${seed}, ${kind}) ${op.operationId}: ${plan.method} ${plan.url.slice(0, 200)} ${JSON.stringify(plan.headers).slice(0, 300)} ${plan.body?.slice(0, 300) ?? ''}`;
        let answer: Sent;
        try {
          answer = await send(target.baseUrl, plan);
        } catch (error) {
          failures.push(`${exchange}: no answer (${(error as Error).message})`);
          continue;
        }
        failures.push(...check(exchange, answer));
        if (answer.status >= 200 && answer.status < 300 && answer.body) {
          const reply = JSON.parse(answer.body) as Record<string, unknown>;
          if (typeof reply.id === 'string' && reply.id.startsWith('conn_') && typeof reply.version === 'number') {
            const known = acknowledged.get(reply.id);
            if (!known || reply.version >= known.version) acknowledged.set(reply.id, { version: reply.version, body: reply });
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(failures, failures.join('\n')).toEqual([]);

    // Every connection the fuzz wrote reads back as its last acknowledged write.
    for (const [id, { body }] of acknowledged) {
      const read = await fetch(`${target.baseUrl}/v1/connections/${id}`, { headers: { 'X-Api-Key': ctx.tenantKey } });
      const text = await read.text();
      expect(read.status, `${id}: ${text}`).toBe(200);
      if (id === ctx.syncTarget) continue; // sync-run reports change its health without a reply of it
      expect(JSON.parse(text), `${id} (seed ${seed})`).toEqual(body);
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(4);
  }, 240_000);
});

