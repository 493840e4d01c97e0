/**
 * Wiring: builds the long-lived services from the configuration. Opens the store (running
 * its migrations), loads the key ring and the catalog. createApp takes the result;
 * main.ts and tests call this once per process. The only place outside the repositories
 * that touches platform/crypto.
 */
import { hkdfSync } from 'node:crypto';
import { join } from 'node:path';
import type { Config } from './platform/config.js';
import { configureCursorSigning } from './platform/cursors.js';
import { CredentialCipher } from './platform/crypto/envelope.js';
import { keyRingFrom, loadOrCreateDevKey } from './platform/crypto/keyring.js';
import { openDatabase, ping, type OpenedDatabase } from './platform/db/database.js';
import type { Logger } from './platform/logger.js';
import { createRateLimitCounter, type RateLimitCounter } from './platform/rate-limits.js';
import { AuditService } from './modules/audit/service.js';
import { ConnectionsService } from './modules/connections/service.js';
import { IdempotencyService } from './modules/idempotency/service.js';
import { ProviderCatalog } from './modules/providers/catalog.js';
import { TenantsService } from './modules/tenants/service.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

/** The long-lived collaborators handlers use, built once at start. */
export interface Services {
  config: Config;
  catalog: ProviderCatalog;
  connections: ConnectionsService;
  tenants: TenantsService;
  audit: AuditService;
  idempotency: IdempotencyService;
  /** Request counts for the rate limits: in PostgreSQL (shared by every process) or in memory on PGlite. */
  rateLimits: RateLimitCounter;
  readinessChecks: ReadinessCheck[];
}

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
  // Cursors are signed with a key of their own, derived from the master key: every process of
  // one deployment accepts the others' cursors, and no client can forge a position.
  configureCursorSigning(Buffer.from(hkdfSync('sha256', masterKey.key, Buffer.alloc(0), 'patchbay cursor signing', 32)));
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger, logQueries: process.env.PATCHBAY_LOG_QUERIES === 'true' });
  const catalog = new ProviderCatalog();
  const audit = new AuditService(database.db);
  const services: Services = {
    config,
    catalog,
    connections: new ConnectionsService(database.db, catalog, cipher, audit),
    tenants: new TenantsService(database.db, audit),
    audit,
    idempotency: new IdempotencyService(database.db),
    rateLimits: createRateLimitCounter(config.rateLimits, database.kind === 'postgres' ? database.db : undefined),
    readinessChecks: [{ name: 'database', check: () => ping(database.db) }],
  };
  return { services, database, close: () => database.close() };
}
