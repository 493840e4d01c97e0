/**
 * The three shapes of a connection: the stored row (store/schema.ts, ciphertext only), the
 * API object (what responses carry: never credentials), and the caller a use case acts for.
 */
import type { ConnectionsSchema } from '@patchbay/api-types';
import type { ActorRow } from '../../store/schema.js';

export type ApiConnection = ConnectionsSchema<'Connection'>;
export type ConnectionStatus = ApiConnection['status'];
export type Environment = ApiConnection['environment'];
export type LinkedResource = ApiConnection['linked_resources'][number];
export type SyncConfig = ApiConnection['sync_config'];
export type ApiConnectionEvent = ConnectionsSchema<'ConnectionEvent'>;
export type ApiSyncRun = ConnectionsSchema<'SyncRun'>;

/** Who acts, in which tenant, for which request: every use case takes one. */
export interface Caller {
  tenantId: string;
  actor: ActorRow;
  requestId: string;
}

/** The plaintext credentials of one connection: exists only between the cipher and a use case. */
export type PlainCredentials = Record<string, string>;
