/** The long-lived collaborators handlers use, built once by createApp. */
import type { Config } from './config.js';
import type { ProviderCatalog } from './domain/providers/catalog.js';

export interface ReadinessCheck {
  name: string;
  check: () => Promise<boolean>;
}

export interface Services {
  config: Config;
  catalog: ProviderCatalog;
  readinessChecks: ReadinessCheck[];
}
