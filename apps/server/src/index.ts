/** @patchbay/server as a library: build the app in-process (tests, embedding). */
export { createApp, type AppOptions } from './app.js';
export { loadConfig, ConfigError, type Config } from './platform/config.js';
export { createLogger, type Logger } from './platform/logger.js';
export { ProviderCatalog } from './modules/providers/catalog.js';
export { createRuntime, type Runtime, type Services } from './runtime.js';
export { assertHandlersMatchSpec } from './http/dispatch.js';
export { handlers } from './handlers.js';
export type { Handlers, Handler } from './http/handler.js';
