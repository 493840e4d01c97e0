/**
 * The three shapes of a connection: the stored row (platform/db/schema.ts, ciphertext only; read and written by repository.ts), the
 * API object (what responses carry: never credentials), and the caller a use case acts for.
 */
import type { ConnectionsSchema } from '@patchbay/api-types';
import type { Caller } from '../../platform/caller.js';
import type { CredentialFieldSummaryRow } from '../../platform/db/schema.js';

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

/** Per secret field: set, last 4 (where safe), fingerprint, when it last changed. */
export type CredentialSummary = Record<string, CredentialFieldSummaryRow>;

/** Summarises credentials without revealing them (the repository's, which holds the fingerprint
 * key); `provider` says which fields its catalog entry allows a last4. */
export type Summarise = (provider: string, tenantId: string, credentials: PlainCredentials, previous: CredentialSummary, now: Date) => CredentialSummary;
