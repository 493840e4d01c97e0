/** The long-lived collaborators handlers use, built once at start. */
import type { Config } from './config.js';
import type { ConnectionsService } from './domain/connections/service.js';
import type { ProviderCatalog } from './domain/providers/catalog.js';
import type { TenantsService } from './domain/tenants/service.js';
import type { IdempotencyStore } from './http/idempotency.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface Services {
  config: Config;
  catalog: ProviderCatalog;
  connections: ConnectionsService;
  tenants: TenantsService;
  idempotency: IdempotencyStore;
  readinessChecks: ReadinessCheck[];
}
