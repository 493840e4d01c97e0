/** What the server attaches to each request before any handler runs. */
import type { Logger } from '../logger.js';

/** Who is calling. Until tenants exist (the connections issue) the only principal is the bootstrap admin. */
export interface Principal {
  kind: 'bootstrap_admin';
  scopes: readonly string[];
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      id: string;
      log: Logger;
      principal?: Principal;
    }
  }
}

export {};
