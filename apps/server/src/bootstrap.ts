/**
 * Builds the long-lived services from the configuration: opens the store (running its
 * migrations), loads the key ring and the catalog. createApp takes the result; main.ts and
 * tests call this once per process.
 */
import { join } from 'node:path';
import type { Config } from './config.js';
import { CredentialCipher } from './crypto/envelope.js';
import { keyRingFrom, loadOrCreateDevKey } from './crypto/keyring.js';
import { ConnectionsService } from './domain/connections/service.js';
import { ProviderCatalog } from './domain/providers/catalog.js';
import { TenantsService } from './domain/tenants/service.js';
import { IdempotencyStore } from './http/idempotency.js';
import type { Logger } from './logger.js';
import { openDatabase, ping, type OpenedDatabase } from './store/database.js';
import type { Services } from './services.js';

export interface Runtime {
  services: Services;
  database: OpenedDatabase;
  close: () => Promise<void>;
}

export async function createRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const masterKey =
    config.masterKey ??
    loadOrCreateDevKey(join(config.dataDir, 'master.key'), (message) => {
      logger.warn(message);
      console.warn(`\n  WARNING: ${message}\n`);
    });
  const cipher = new CredentialCipher(keyRingFrom([masterKey]));
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger, logQueries: process.env.PATCHBAY_LOG_QUERIES === 'true' });
  const catalog = new ProviderCatalog();
  const services: Services = {
    config,
    catalog,
    connections: new ConnectionsService(database.db, catalog, cipher),
    tenants: new TenantsService(database.db),
    idempotency: new IdempotencyStore(database.db),
    readinessChecks: [{ name: 'database', check: () => ping(database.db) }],
  };
  return { services, database, close: () => database.close() };
}
