/** The suites' targets: the same tests, unchanged, against the real server on PGlite, the
 * real server on PostgreSQL and the mock. Without PostgreSQL (never under CI: the global setup
 * then fails the run) the PostgreSQL target stays in the list, marked unavailable, and
 * describeEach() reports its tests as skipped with the reason, so they do not vanish. */
import { describe, inject } from 'vitest';
import { createPatchbayClient, type PatchbayClient } from '@patchbay/client';
import { registerSecret, scanningFetch } from './secrets.js';

export interface Target {
  name: string;
  kind: 'server' | 'mock';
  baseUrl: string;
  /** The bootstrap admin key (the mock accepts any key). */
  adminKey: string;
  /** Why this target cannot be tested on this machine (its tests are reported as skipped). */
  unavailable?: string;
  /** A client with the given key; the admin key when none is given, no key with `apiKey: undefined`.
   * Every exchange it makes is checked for secrets (support/secrets.ts). */
  client: (options?: { apiKey?: string | undefined; headers?: Record<string, string> }) => PatchbayClient;
}

/** A target for a server or mock at `baseUrl` that takes the suite's bootstrap admin key. */
export function makeTarget(name: string, kind: Target['kind'], baseUrl: string, unavailable?: string): Target {
  const adminKey = inject('adminKey');
  return {
    name,
    kind,
    baseUrl,
    adminKey,
    ...(unavailable ? { unavailable } : {}),
    client: (options = {}) => {
      const apiKey = 'apiKey' in options ? options.apiKey : adminKey;
      return createPatchbayClient({ baseUrl, fetch: scanningFetch(), ...(apiKey === undefined ? {} : { apiKey }), ...(options.headers ? { headers: options.headers } : {}) });
    },
  };
}

/** The real servers: PGlite, and PostgreSQL (marked unavailable, with the setup's reason, when there is none). */
export function serverTargets(): Target[] {
  const pg = inject('postgresServerUrl');
  return [
    makeTarget('server on PGlite', 'server', inject('serverUrl')),
    makeTarget('server on PostgreSQL', 'server', pg ?? 'http://127.0.0.1:9', pg ? undefined : (inject('postgresUnavailable') ?? 'no PostgreSQL server was started')),
  ];
}

/** The targets that can be tested here. */
export const available = (list: Target[]): Target[] => list.filter((target) => !target.unavailable);

/**
 * describe.each for targets: one describe per target, `$name` in the title replaced by its
 * name; an unavailable target's describe is skipped, its title saying why, so its tests are
 * counted and printed as skipped instead of vanishing from the run.
 */
export function describeEach(list: Target[]) {
  return (title: string, body: (target: Target) => void): void => {
    for (const target of list) {
      const named = title.replaceAll('$name', target.name);
      if (target.unavailable) describe.skip(`${named} (SKIPPED: ${target.unavailable})`, () => body(target));
      else describe(named, () => body(target));
    }
  };
}

export function mockTarget(): Target {
  return makeTarget('mock', 'mock', inject('mockUrl'));
}

/** The shared mock, asked to remember what it is sent (`Prefer: stateful=true`; its state is
 * per API key, and newTenantKey gives each mock "tenant" a key of its own). It answers the
 * flows the server's database-free rules decide (see the mock's README section); provider
 * schema validation, scopes and idempotent replays are the server's alone. */
export function statefulMockTarget(): Target {
  const mock = makeTarget('stateful mock', 'mock', inject('mockUrl'));
  return { ...mock, client: (options = {}) => mock.client({ ...options, headers: { Prefer: 'stateful=true', ...options.headers } }) };
}

/** Every target: the servers and the mock. */
export function targets(): Target[] {
  return [...serverTargets(), mockTarget()];
}

/** A fresh tenant and a key with the given scopes on a server target (the mock: any key). */
export async function newTenantKey(target: Target, scopes: string[] = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write']): Promise<{ tenantId: string; apiKey: string; keyId: string }> {
  // Any key works on the mock; a key of its own keeps a stateful mock's tenants apart.
  if (target.kind === 'mock') return { tenantId: 'ten_01jd5qa0b2c4e6g8j0k2m4n6p8', apiKey: `mock-key-${Math.random().toString(36).slice(2, 12)}`, keyId: 'key_01jd5qb2c4e6g8j0k2m4n6p8r0' };
  const admin = target.client();
  const tenant = await admin.POST('/admin/v1/tenants', { body: { name: `test tenant ${Math.random().toString(36).slice(2, 8)}` } });
  if (!tenant.data) throw new Error(`could not create a tenant: ${JSON.stringify(tenant.error)}`);
  const key = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', {
    params: { path: { tenantId: tenant.data.id } },
    body: { name: 'test key', scopes: scopes as never },
  });
  if (!key.data) throw new Error(`could not create a key: ${JSON.stringify(key.error)}`);
  registerSecret(key.data.api_key, `the API key of tenant ${tenant.data.id}`);
  return { tenantId: tenant.data.id, apiKey: key.data.api_key, keyId: key.data.id };
}
