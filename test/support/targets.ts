/** The suites' targets: the same tests, unchanged, against the real server on PGlite, the
 * real server on PostgreSQL (when one can be had) and the mock. */
import { inject } from 'vitest';
import { createPatchbayClient, type PatchbayClient } from '@patchbay/client';

export interface Target {
  name: string;
  kind: 'server' | 'mock';
  baseUrl: string;
  /** The bootstrap admin key (the mock accepts any key). */
  adminKey: string;
  /** A client with the given key; the admin key when none is given, no key with `apiKey: undefined`. */
  client: (options?: { apiKey?: string | undefined; headers?: Record<string, string> }) => PatchbayClient;
}

function makeTarget(name: string, kind: Target['kind'], baseUrl: string): Target {
  const adminKey = inject('adminKey');
  return {
    name,
    kind,
    baseUrl,
    adminKey,
    client: (options = {}) => {
      const apiKey = 'apiKey' in options ? options.apiKey : adminKey;
      return createPatchbayClient({ baseUrl, ...(apiKey === undefined ? {} : { apiKey }), ...(options.headers ? { headers: options.headers } : {}) });
    },
  };
}

/** The real servers: PGlite always, PostgreSQL unless it is unavailable (the setup says why). */
export function serverTargets(): Target[] {
  const pg = inject('postgresServerUrl');
  return [makeTarget('server on PGlite', 'server', inject('serverUrl')), ...(pg ? [makeTarget('server on PostgreSQL', 'server', pg)] : [])];
}

export function mockTarget(): Target {
  return makeTarget('mock', 'mock', inject('mockUrl'));
}

/** Every target: the servers and the mock. */
export function targets(): Target[] {
  return [...serverTargets(), mockTarget()];
}

/** A fresh tenant and a key with the given scopes on a server target (the mock: any key). */
export async function newTenantKey(target: Target, scopes: string[] = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write']): Promise<{ tenantId: string; apiKey: string; keyId: string }> {
  if (target.kind === 'mock') return { tenantId: 'ten_01jd5qa0b2c4e6g8j0k2m4n6p8', apiKey: 'mock-key', keyId: 'key_01jd5qb2c4e6g8j0k2m4n6p8r0' };
  const admin = target.client();
  const tenant = await admin.POST('/admin/v1/tenants', { body: { name: `test tenant ${Math.random().toString(36).slice(2, 8)}` } });
  if (!tenant.data) throw new Error(`could not create a tenant: ${JSON.stringify(tenant.error)}`);
  const key = await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', {
    params: { path: { tenantId: tenant.data.id } },
    body: { name: 'test key', scopes: scopes as never },
  });
  if (!key.data) throw new Error(`could not create a key: ${JSON.stringify(key.error)}`);
  return { tenantId: tenant.data.id, apiKey: key.data.api_key, keyId: key.data.id };
}
