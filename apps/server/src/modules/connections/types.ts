/**
 * The three shapes of a connection: the stored row (platform/db/schema.ts, ciphertext only; read and written by repository.ts), the
 * API object (what responses carry: never credentials), and the caller a use case acts for.
 */
import type { ConnectionsSchema } from '@patchbay/api-types';
import type { Caller } from '../../platform/caller.js';

export type ApiConnection = ConnectionsSchema<'Connection'>;
export type ConnectionStatus = ApiConnection['status'];
export type Environment = ApiConnection['environment'];
export type LinkedResource = ApiConnection['linked_resources'][number];
export type SyncConfig = ApiConnection['sync_config'];
export type ApiConnectionEvent = ConnectionsSchema<'ConnectionEvent'>;
export type ApiSyncRun = ConnectionsSchema<'SyncRun'>;

export type { Caller };

/** The plaintext credentials of one connection: exists only between the cipher and a use case. */
export type PlainCredentials = Record<string, string>;
