/** @patchbay/server as a library: build the app in-process (tests, embedding). */
export { createApp, type AppOptions } from './app.js';
export { loadConfig, ConfigError, type Config } from './config.js';
export { createLogger, type Logger } from './logger.js';
export { ProviderCatalog } from './domain/providers/catalog.js';
export { createRuntime, type Runtime } from './bootstrap.js';
export type { Services } from './services.js';
export { assertHandlersMatchSpec } from './http/dispatch.js';
export { handlers } from './routes/index.js';
export type { Handlers, Handler } from './http/handler.js';
