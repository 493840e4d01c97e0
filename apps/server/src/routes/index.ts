/** The handler of every operation, keyed by operationId. The type makes a missing or an
 * extra handler a compile error; createApp checks the same at run time against the bundles. */
import type { Handlers } from '../http/handler.js';
import { createApiKey } from './admin/create-api-key.js';
import { createTenant } from './admin/create-tenant.js';
import { listApiKeys } from './admin/list-api-keys.js';
import { listTenants } from './admin/list-tenants.js';
import { revokeApiKey } from './admin/revoke-api-key.js';
import { archiveConnection } from './connections/archive-connection.js';
import { createConnection } from './connections/create-connection.js';
import { getConnection } from './connections/get-connection.js';
import { getDefaultProviderConnection } from './connections/get-default-provider-connection.js';
import { listConnectionEvents } from './connections/list-connection-events.js';
import { listConnections } from './connections/list-connections.js';
import { replaceConnection } from './connections/replace-connection.js';
import { replaceConnectionCredentials } from './connections/replace-connection-credentials.js';
import { reportSyncRun } from './connections/report-sync-run.js';
import { updateConnection } from './connections/update-connection.js';
import { upsertProviderConnection } from './connections/upsert-provider-connection.js';
import { getHealth } from './health/get-health.js';
import { getReadiness } from './health/get-readiness.js';
import { getProvider } from './providers/get-provider.js';
import { listProviders } from './providers/list-providers.js';

export const handlers = {
  getHealth,
  getReadiness,
  listProviders,
  getProvider,
  getDefaultProviderConnection,
  upsertProviderConnection,
  createConnection,
  listConnections,
  getConnection,
  updateConnection,
  replaceConnection,
  archiveConnection,
  replaceConnectionCredentials,
  reportSyncRun,
  listConnectionEvents,
  createTenant,
  listTenants,
  createApiKey,
  listApiKeys,
  revokeApiKey,
} satisfies Handlers;
