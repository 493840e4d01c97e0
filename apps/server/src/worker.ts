/**
 * `pnpm --filter @patchbay/server worker`: delivers webhooks without serving HTTP, for those
 * who want delivery apart from the API processes (decision 0024). Reads the same environment
 * as the server. Every server process delivers too; claims never overlap (FOR UPDATE SKIP
 * LOCKED and a lease), so workers and servers can run side by side on one PostgreSQL.
 * Stops on SIGTERM or SIGINT after the attempts in flight. Exit 78 on a configuration error.
 */
import { ConfigError, loadConfig } from './platform/config.js';
import { createLogger } from './platform/logger.js';
import { createRuntime } from './runtime.js';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`worker: invalid configuration: ${error.message}`);
    process.exit(78);
  }
  throw error;
}
const logger = createLogger(config.logLevel);
const runtime = await createRuntime(config, logger, { keyRotationWorker: false });
console.log(`Patchbay webhook worker: polling every ${config.webhooks.pollMs} ms (database: ${runtime.database.kind})`);
const stop = () => {
  runtime.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The poller's timers are unref'd: keep the process alive until told to stop.
setInterval(() => undefined, 1 << 30);
