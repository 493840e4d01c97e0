/**
 * Development convenience (never in production): a "Development" tenant and a key for it,
 * so that `pnpm start` prints something to paste into X-Api-Key. The key is kept in a 0600
 * file under the data directory, next to the development master key, and reused while it
 * still authenticates.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { newRequestId } from '@patchbay/openapi-http';
import type { Config } from './platform/config.js';
import type { Services } from './runtime.js';

const TENANT_SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'sync_runs:write', 'connect_sessions:write', 'webhooks:read', 'webhooks:write'] as const;

export async function ensureDevelopmentKey(config: Config, services: Services): Promise<{ key: string; tenantId: string }> {
  const file = join(config.dataDir, 'development-api-key');
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    const found = await services.tenants.authenticate(key);
    if (found?.kind === 'tenant') return { key, tenantId: found.tenantId };
  }
  // The server itself acts here, at start: the audit trail names it 'system'.
  const acting = { actor: { type: 'system' as const, id: null }, serverRequestId: newRequestId(), scopes: TENANT_SCOPES };
  const tenant = await services.tenants.createTenant(acting, 'Development');
  const created = await services.tenants.createApiKey(acting, tenant.id, { name: 'development (printed by pnpm start)', scopes: [...TENANT_SCOPES] });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${created.api_key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { key: created.api_key, tenantId: tenant.id };
}
