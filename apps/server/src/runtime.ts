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
import { KeyFileError, keyRingFrom, loadOrCreateDevKey } from './platform/crypto/keyring.js';
import { openDatabase, ping, type OpenedDatabase } from './platform/db/database.js';
import type { Logger } from './platform/logger.js';
import { createRateLimitCounter, type RateLimitCounter } from './platform/rate-limits.js';
import { AuditService } from './modules/audit/service.js';
import { ConnectionsService } from './modules/connections/service.js';
import { ConnectSessionsService } from './modules/connect-sessions/service.js';
import { KeyRingRefused, KeysService, type OpenedKeyRing } from './modules/keys/service.js';
import { IdempotencyService } from './modules/idempotency/service.js';
import { ProviderCatalog } from './modules/providers/catalog.js';
import { TenantsService } from './modules/tenants/service.js';
import { WebhooksService } from './modules/webhooks/service.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

/** The long-lived collaborators handlers use, built once at start. */
export interface Services {
  config: Config;
  catalog: ProviderCatalog;
  connections: ConnectionsService;
  /** One-time links to the hosted credentials page (issue 14). */
  connectSessions: ConnectSessionsService;
  tenants: TenantsService;
  audit: AuditService;
  idempotency: IdempotencyService;
  /** The key ring and its rotations. */
  keys: KeysService;
  /** Request counts for the rate limits: in PostgreSQL (shared by every process) or in memory on PGlite. */
  rateLimits: RateLimitCounter;
  /** Webhook endpoints, the outbox hook and the delivery worker (decision 0024). */
  webhooks: WebhooksService;
  readinessChecks: ReadinessCheck[];
}

/** How often the sweeper deletes expired Idempotency-Keys (a bounded batch each time). */
const IDEMPOTENCY_SWEEP_MS = 60_000;

export interface Runtime {
  services: Services;
  database: OpenedDatabase;
  close: () => Promise<void>;
}

export async function createRuntime(config: Config, logger: Logger, options: { keyRotationWorker?: boolean; webhookWorker?: boolean } = {}): Promise<Runtime> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, poolSize: config.dbPoolSize, dataDir: config.dataDir, logger, logQueries: process.env.PATCHBAY_LOG_QUERIES === 'true' });
  // The key ring (decision 0021): opened against the store, which says which versions wrap its
  // records and holds each version's check value; a wrong or missing key stops start-up here.
  const keys = new KeysService(database.db, logger);
  let opened: OpenedKeyRing;
  try {
    const masterKey =
      config.masterKey ??
      loadOrCreateDevKey(join(config.dataDir, 'master.key'), {
        encryptedDataVersions: await keys.versionsInUse(),
        warn: (message) => {
          logger.warn(message);
          console.warn(`\n  WARNING: ${message}\n`);
        },
      });
    opened = await keys.open(keyRingFrom([masterKey, ...config.previousMasterKeys]));
  } catch (error) {
    await database.close();
    throw error instanceof KeyFileError ? new KeyRingRefused(error.message) : error;
  }
  const cipher = opened.cipher;
  // Cursors are signed with a key of their own, derived from the key ring's stable key (not
  // from a KEK, so a rotation does not void them): every process of one deployment accepts the
  // others' cursors, and no client can forge a position.
  configureCursorSigning(Buffer.from(hkdfSync('sha256', opened.stableRoot, Buffer.alloc(0), 'patchbay cursor signing', 32)));
  // Idempotency request hashes are an HMAC under a key of their own (decision 0020): the same
  // in every process of one deployment, useless to whoever reads only the database.
  const idempotencyHashKey = Buffer.from(hkdfSync('sha256', opened.stableRoot, Buffer.alloc(0), 'patchbay idempotency request hash', 32));
  const catalog = new ProviderCatalog();
  const audit = new AuditService(database.db);
  const idempotency = new IdempotencyService(database.db, { hashKey: idempotencyHashKey, leaseMs: config.idempotencyLeaseMs });
  const webhooks = new WebhooksService(database.db, cipher, config.webhooks, config.development, logger);
  const connections = new ConnectionsService(database.db, catalog, cipher, audit, idempotency, webhooks);
  const services: Services = {
    config,
    catalog,
    connections,
    // A completed session's connect_session.completed event goes into the webhook outbox in the
    // completing transaction (decision 0024).
    connectSessions: new ConnectSessionsService(database.db, catalog, connections, config.connectReturnOrigins, (tx, caller, session) => webhooks.connectSessionCompleted(tx, caller, session)),
    webhooks,
    tenants: new TenantsService(database.db, audit),
    audit,
    idempotency,
    rateLimits: createRateLimitCounter(config.rateLimits, database.kind === 'postgres' ? database.db : undefined),
    keys,
    readinessChecks: [
      { name: 'database', check: () => ping(database.db) },
      { name: 'keys', check: () => keys.healthy() },
    ],
  };
  // Expired keys go in bounded batches, off the request path, once just after start and then
  // every minute; the timers never keep the process alive.
  let sweeping = false;
  const sweep = () => {
    if (sweeping) return;
    sweeping = true;
    idempotency
      .sweep()
      .then((deleted) => deleted > 0 && logger.info({ deleted }, 'swept expired idempotency keys'))
      .catch((error: Error) => logger.warn({ err: { message: error.message } }, 'idempotency sweep failed'))
      .finally(() => (sweeping = false));
  };
  const firstSweep = setTimeout(sweep, 1_000);
  firstSweep.unref();
  const sweeper = setInterval(sweep, IDEMPOTENCY_SWEEP_MS);
  sweeper.unref();
  // A rotation started here or on another process, or left by a crashed one, is run by
  // whichever process holds its lease (not by a one-shot command such as rotate-keys).
  if (options.keyRotationWorker !== false) keys.startWorker();
  // Every process delivers webhooks; claims never overlap (FOR UPDATE SKIP LOCKED and a lease).
  if (options.webhookWorker !== false) webhooks.startWorker();
  return {
    services,
    database,
    close: async () => {
      clearTimeout(firstSweep);
      clearInterval(sweeper);
      await keys.stop();
      await webhooks.stopWorker();
      return database.close();
    },
  };
}
