/** The handler of every operation, keyed by operationId. The type makes a missing or an
 * extra handler a compile error; createApp checks the same at run time against the bundles. */
import type { Handlers } from '../http/handler.js';
import { getHealth } from './health/get-health.js';
import { getReadiness } from './health/get-readiness.js';
import { getProvider } from './providers/get-provider.js';
import { listProviders } from './providers/list-providers.js';

export const handlers = {
  getHealth,
  getReadiness,
  listProviders,
  getProvider,
} satisfies Handlers;
