/** Starts the server: reads the configuration, listens, warms the validator up, and shuts
 * down gracefully on SIGTERM/SIGINT (stops accepting, lets requests in flight finish). */
import type { AddressInfo } from 'node:net';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './logger.js';

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
const app = createApp({ config, logger });
const server = app.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const url = config.publicUrl ?? `http://${host}:${port}`;
  logger.info({ url, docs: `${url}/docs` }, 'patchbay server listening');
  if (config.adminKeyGenerated) {
    // Development only (production requires the variable): print the key once, loudly.
    console.warn(`\n  PATCHBAY_ADMIN_KEY was not set; this run accepts the generated bootstrap key:\n\n    X-Api-Key: ${config.adminKey}\n`);
  }
  console.log(`Patchbay server: ${url}  (reference docs: ${url}/docs)`);
  // express-openapi-validator compiles on first use: pay that now, not on a user's request.
  void fetch(`http://${host}:${port}/v1/providers`).catch(() => undefined);
});
server.keepAliveTimeout = 65_000;

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close((error) => {
    if (error) logger.error({ err: { message: error.message } }, 'error while closing');
    logger.info('stopped');
    process.exit(error ? 1 : 0);
  });
  server.closeIdleConnections();
  setTimeout(() => {
    logger.warn('requests still in flight after 10 s; closing them');
    server.closeAllConnections();
  }, 10_000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
