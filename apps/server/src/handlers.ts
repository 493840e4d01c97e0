/** The handler of every operation, keyed by operationId. The type makes a missing or an
 * extra handler a compile error; createApp checks the same at run time against the bundles. */
import type { Handlers } from './http/handler.js';
import { createApiKey } from './modules/tenants/handlers/create-api-key.js';
import { createTenant } from './modules/tenants/handlers/create-tenant.js';
import { listApiKeys } from './modules/tenants/handlers/list-api-keys.js';
import { listTenants } from './modules/tenants/handlers/list-tenants.js';
import { revokeApiKey } from './modules/tenants/handlers/revoke-api-key.js';
import { rotateApiKey } from './modules/tenants/handlers/rotate-api-key.js';
import { createPlatformKey } from './modules/tenants/handlers/create-platform-key.js';
import { listPlatformKeys } from './modules/tenants/handlers/list-platform-keys.js';
import { revokePlatformKey } from './modules/tenants/handlers/revoke-platform-key.js';
import { rotatePlatformKey } from './modules/tenants/handlers/rotate-platform-key.js';
import { cancelConnectSession } from './modules/connect-sessions/handlers/cancel-connect-session.js';
import { createConnectSession } from './modules/connect-sessions/handlers/create-connect-session.js';
import { getConnectSession } from './modules/connect-sessions/handlers/get-connect-session.js';
import { listConnectSessions } from './modules/connect-sessions/handlers/list-connect-sessions.js';
import { listAuditEvents } from './modules/audit/handlers/list-audit-events.js';
import { archiveConnection } from './modules/connections/handlers/archive-connection.js';
import { createConnection } from './modules/connections/handlers/create-connection.js';
import { getConnection } from './modules/connections/handlers/get-connection.js';
import { getDefaultProviderConnection } from './modules/connections/handlers/get-default-provider-connection.js';
import { listConnectionEvents } from './modules/connections/handlers/list-connection-events.js';
import { listConnections } from './modules/connections/handlers/list-connections.js';
import { replaceConnection } from './modules/connections/handlers/replace-connection.js';
import { replaceConnectionCredentials } from './modules/connections/handlers/replace-connection-credentials.js';
import { reportSyncRun } from './modules/connections/handlers/report-sync-run.js';
import { updateConnection } from './modules/connections/handlers/update-connection.js';
import { upsertProviderConnection } from './modules/connections/handlers/upsert-provider-connection.js';
import { getKeyRotation } from './modules/keys/handlers/get-key-rotation.js';
import { startKeyRotation } from './modules/keys/handlers/start-key-rotation.js';
import { getHealth } from './modules/health/handlers/get-health.js';
import { getReadiness } from './modules/health/handlers/get-readiness.js';
import { createWebhookEndpoint } from './modules/webhooks/handlers/create-webhook-endpoint.js';
import { listWebhookEndpoints } from './modules/webhooks/handlers/list-webhook-endpoints.js';
import { getWebhookEndpoint } from './modules/webhooks/handlers/get-webhook-endpoint.js';
import { updateWebhookEndpoint } from './modules/webhooks/handlers/update-webhook-endpoint.js';
import { deleteWebhookEndpoint } from './modules/webhooks/handlers/delete-webhook-endpoint.js';
import { rotateWebhookSecret } from './modules/webhooks/handlers/rotate-webhook-secret.js';
import { listWebhookDeliveries } from './modules/webhooks/handlers/list-webhook-deliveries.js';
import { redeliverWebhookEvent } from './modules/webhooks/handlers/redeliver-webhook-event.js';
import { replayWebhookEvents } from './modules/webhooks/handlers/replay-webhook-events.js';
import { getProvider } from './modules/providers/handlers/get-provider.js';
import { listProviders } from './modules/providers/handlers/list-providers.js';

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
  rotateApiKey,
  createPlatformKey,
  listPlatformKeys,
  revokePlatformKey,
  rotatePlatformKey,
  listAuditEvents,
  createConnectSession,
  listConnectSessions,
  getConnectSession,
  cancelConnectSession,
  startKeyRotation,
  getKeyRotation,
  createWebhookEndpoint,
  listWebhookEndpoints,
  getWebhookEndpoint,
  updateWebhookEndpoint,
  deleteWebhookEndpoint,
  rotateWebhookSecret,
  listWebhookDeliveries,
  redeliverWebhookEvent,
  replayWebhookEvents,
} satisfies Handlers;
