/** Starts the server: reads the configuration, opens the store, listens, warms the
 * validator up, and shuts down gracefully on SIGTERM/SIGINT (stops accepting, lets requests
 * in flight finish, closes the database). */
import { watch } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { bundlePath } from '@patchbay/api-types/documents';
import { createApp, warmUp } from './app.js';
import { warmUpStore } from './platform/db/database.js';
import { createRuntime } from './runtime.js';
import { KeyRingRefused } from './modules/keys/errors.js';
import { ConfigError, loadConfig, type Config } from './platform/config.js';
import { ensureDevelopmentKey } from './dev-tenant.js';
import { createLogger } from './platform/logger.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`patchbay: invalid configuration: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  throw error;
}

const logger = createLogger(config.logLevel);
const runtime = await createRuntime(config, logger).catch((error: Error) => {
  if (error instanceof KeyRingRefused) {
    // Names key versions and variables, never a key (decision 0021).
    console.error(`patchbay: the key ring does not fit this database: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
  // Connection errors name the host, never a password: pg's messages do not include it.
  console.error(`patchbay: could not open the ${config.databaseUrl ? 'PostgreSQL database (DATABASE_URL)' : `embedded database in ${config.dataDir}`}: ${error.message}`);
  process.exit(1);
});
if (config.adminKey === undefined && !(await runtime.services.tenants.livePlatformKeyExists())) {
  // Outside development mode, no bootstrap key is fine once the operator has a platform key; before
  // that nobody could ever call the admin API.
  console.error('patchbay: invalid configuration: PATCHBAY_ADMIN_KEY: is required until a platform key exists (create one with POST /admin/v1/platform-keys, then leave the variable unset), unless development mode (PATCHBAY_DEV=true or --dev) generates one');
  await runtime.close();
  process.exit(78); // EX_CONFIG
}
let app = createApp({ config, logger, services: runtime.services });
// Every operation's validators compiled before listening: /readyz says ready only when the
// first request of any operation is served at full speed (issue 13). PATCHBAY_WARM_UP=false
// skips it (each operation then compiles on its first request): for test suites and tools
// that start many short-lived servers, where 1–2 s of CPU per start adds up (decision 0029).
if (process.env.PATCHBAY_WARM_UP !== 'false') {
  const started = performance.now();
  const reports = await warmUp(app);
  logger.info({ ms: Math.round(performance.now() - started), apis: Object.fromEntries(reports.map((r) => [r.api, { operations: r.operations, warmed: r.warmed }])) }, 'validators compiled');
  await warmUpStore(runtime.database.db);
}
// Asked for, never assumed (decision 0022): a printed full-scope key only in development mode.
const devKey = config.development ? await ensureDevelopmentKey(config, runtime.services) : undefined;

// The HTTP server delegates to the current app, so that `pnpm dev` can swap in an app built
// from freshly generated bundles without reopening the database (the dev loop stays fast).
const server = createServer((req, res) => app(req, res));
if (process.env.PATCHBAY_RELOAD_SPECS === 'true' && !config.production) {
  let timer: NodeJS.Timeout | undefined;
  watch(dirname(bundlePath('connections')), () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const started = performance.now();
      // The new app takes over once its validators are compiled; until then the previous one answers.
      void (async () => {
        const next = createApp({ config, logger, services: runtime.services });
        await warmUp(next);
        app = next;
        console.log(`Patchbay server: reloaded the specs in ${Math.round(performance.now() - started)} ms`);
      })().catch((error: Error) => console.error(`Patchbay server: kept the previous specs: ${error.message}`));
    }, 100);
  });
}
server.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = config.publicUrl ?? `http://${host}:${port}`;
  logger.info({ url, docs: `${url}/docs`, database: runtime.database.kind }, 'patchbay server listening');
  if (config.adminKeyGenerated) {
    // Development mode only (otherwise the key is never generated): print the key once, loudly.
    console.warn(`\n  PATCHBAY_ADMIN_KEY was not set; this run accepts the generated bootstrap admin key:\n    X-Api-Key: ${config.adminKey}\n`);
  }
  if (devKey) console.log(`\n  Development tenant ${devKey.tenantId}; try:\n    curl -H 'X-Api-Key: ${devKey.key}' ${url}/v1/connections\n`);
  console.log(`Patchbay server: ${url}  (reference docs: ${url}/docs; database: ${runtime.database.kind})`);
});
server.keepAliveTimeout = 65_000;

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close((error) => {
    runtime
      .close()
      .catch((closeError: Error) => logger.error({ err: { message: closeError.message } }, 'error while closing the database'))
      .finally(() => {
        if (error) logger.error({ err: { message: error.message } }, 'error while closing');
        logger.info('stopped');
        // pino may buffer: let the last lines reach the output before the process ends.
        logger.flush(() => process.exit(error ? 1 : 0));
      });
  });
  // A keep-alive connection busy when the signal came becomes idle once its answer is sent:
  // close such connections as they go idle, so shutdown does not wait for the forced close.
  server.closeIdleConnections();
  setInterval(() => server.closeIdleConnections(), 50).unref();
  setTimeout(() => {
    logger.warn('requests still in flight after 10 s; closing them');
    server.closeAllConnections();
  }, 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
