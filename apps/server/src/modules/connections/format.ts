/** Maps stored rows to API objects. Credentials never pass through here: only their summary. */
import type { Selectable } from 'kysely';
import type { ConnectionEventsTable, ConnectionsTable, SyncRunsTable } from '../../platform/db/schema.js';
import { withAllowedHints } from './hints.js';
import type { ApiConnection, ApiConnectionEvent, ApiSyncRun } from './types.js';

export type ConnectionRow = Selectable<ConnectionsTable>;
export type ConnectionEventRow = Selectable<ConnectionEventsTable>;
export type SyncRunRow = Selectable<SyncRunsTable>;

// RFC 3339 in UTC with milliseconds: the precision every timestamp is stored with.
const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());
const isoRequired = (value: Date | string): string => iso(value)!;

/** `hinted`: the credential fields whose last4 the provider's catalog entry allows now; a
 * summary stored under an older catalog shows no other (hints.ts). */
export function toApiConnection(row: ConnectionRow, hinted: ReadonlySet<string>): ApiConnection {
  return {
    id: row.id,
    provider: row.provider,
    reference: row.reference,
    name: row.name,
    description: row.description,
    environment: row.environment,
    status: row.status,
    status_message: row.status_message,
    enabled: row.enabled,
    priority: row.priority,
    settings: row.settings,
    credentials_summary: withAllowedHints(row.credentials_summary, hinted),
    sync_config: row.sync_config as ApiConnection['sync_config'],
    metadata: row.metadata,
    tags: row.tags,
    linked_resources: row.linked_resources,
    last_sync_at: iso(row.last_sync_at),
    last_error: row.last_error,
    consecutive_failures: row.consecutive_failures,
    created_at: isoRequired(row.created_at),
    created_by: row.created_by,
    updated_at: isoRequired(row.updated_at),
    updated_by: row.updated_by,
    archived_at: iso(row.archived_at),
    version: row.version,
  };
}

export function toApiEvent(row: ConnectionEventRow): ApiConnectionEvent {
  return {
    id: row.id,
    connection_id: row.connection_id,
    action: row.action as ApiConnectionEvent['action'],
    actor: row.actor,
    changed_fields: row.changed_fields,
    status_from: row.status_from,
    status_to: row.status_to,
    request_id: row.request_id,
    occurred_at: isoRequired(row.occurred_at),
  };
}

export function toApiSyncRun(row: SyncRunRow, connection: { status: ApiSyncRun['connection_status']; consecutive_failures: number }): ApiSyncRun {
  return {
    id: row.id,
    connection_id: row.connection_id,
    outcome: row.outcome,
    entity: row.entity,
    direction: row.direction,
    started_at: iso(row.started_at),
    finished_at: iso(row.finished_at),
    records_processed: row.records_processed,
    records_failed: row.records_failed,
    error: row.error,
    connection_status: connection.status,
    consecutive_failures: connection.consecutive_failures,
    recorded_at: isoRequired(row.recorded_at),
  };
}

/** The ETag of a connection: its version, quoted. */
export const etagOf = (version: number): string => `"${version}"`;
