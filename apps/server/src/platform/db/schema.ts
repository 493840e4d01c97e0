/** The stored shape of each table: what Kysely reads and writes. Credentials exist here
 * only as ciphertext; the decrypted shape lives in domain/connections. */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface ActorRow {
  /** 'token': a Bearer token acted; `id` is null and `subject` is the token's `sub`. */
  type: 'api_key' | 'bootstrap_admin' | 'connect_session' | 'system' | 'token';
  id: string | null;
  /** A token's subject claim, when a token acted. */
  subject?: string | null;
}

export interface TenantsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface ApiKeysTable {
  id: string;
  /** Null for a platform key. */
  tenant_id: string | null;
  kind: ColumnType<'tenant' | 'platform', 'tenant' | 'platform' | undefined, never>;
  name: string;
  scopes: string[];
  prefix: string;
  key_hash: Buffer;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  /** After it, the key no longer authenticates (set at creation, or by a rotation's overlap). */
  expires_at: Timestamp | null;
  /** The key a rotation issued in its place. */
  replaced_by: string | null;
}

export interface AuditEventsTable {
  id: string;
  /** Null for a platform-level event (a platform key's lifecycle, the bootstrap key outside a tenant). */
  tenant_id: string | null;
  action: string;
  actor: Json<ActorRow>;
  target_type: string;
  target_id: string | null;
  connection_id: string | null;
  changed_fields: string[];
  /** Never a secret: names and non-secret facts only. */
  details: Json<Record<string, unknown>>;
  /** The server's own id of the request. */
  request_id: string;
  /** The X-Request-Id the client sent, kept apart: a client may send anything there. */
  client_request_id: string | null;
  occurred_at: Timestamp;
}

export interface CredentialFieldSummaryRow {
  set: boolean;
  last4: string | null;
  fingerprint: string;
  updated_at: string;
}

export interface LinkedResourceRow {
  object_type: string;
  object_id: string;
  status: 'pending' | 'active' | 'error' | 'disabled';
  status_message: string | null;
}

export interface LastErrorRow {
  code: string | null;
  message: string;
  occurred_at: string;
}

export interface ConnectionsTable {
  id: string;
  tenant_id: string;
  provider: string;
  reference: string | null;
  name: string;
  description: string | null;
  environment: 'test' | 'production';
  status: 'pending_auth' | 'active' | 'error' | 'disabled' | 'archived';
  status_message: string | null;
  enabled: boolean;
  priority: number;
  settings: Json<Record<string, unknown>>;
  credentials_ciphertext: Buffer | null;
  credentials_key: Buffer | null;
  credentials_key_version: number | null;
  credentials_summary: Json<Record<string, CredentialFieldSummaryRow>>;
  sync_config: Json<Record<string, { inbound?: boolean; outbound?: boolean }>>;
  metadata: Json<Record<string, string>>;
  tags: string[];
  linked_resources: Json<LinkedResourceRow[]>;
  last_sync_at: Timestamp | null;
  last_error: Json<LastErrorRow | null>;
  consecutive_failures: Generated<number>;
  created_at: Timestamp;
  created_by: Json<ActorRow>;
  updated_at: Timestamp;
  updated_by: Json<ActorRow>;
  archived_at: Timestamp | null;
  version: number;
}

export interface ConnectionEventsTable {
  id: string;
  tenant_id: string;
  connection_id: string;
  action: string;
  actor: Json<ActorRow>;
  changed_fields: string[];
  status_from: ConnectionsTable['status'] | null;
  status_to: ConnectionsTable['status'] | null;
  request_id: string | null;
  occurred_at: Timestamp;
}

export interface SyncRunsTable {
  id: string;
  tenant_id: string;
  connection_id: string;
  outcome: 'succeeded' | 'failed';
  entity: string | null;
  direction: 'inbound' | 'outbound' | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  records_processed: number | null;
  records_failed: number | null;
  error: Json<LastErrorRow | null>;
  recorded_at: Timestamp;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  key: string;
  operation: string;
  request_hash: string;
  state: 'in_flight' | 'done';
  /** The holder of an in-flight claim: only it may store the reply or give the key up. */
  claim_token: string | null;
  /** When an in-flight claim lapses and a retry may take it over (the holder died). */
  lease_expires_at: Timestamp | null;
  /** The connection the stored reply is about: its archive deletes the reply. */
  connection_id: string | null;
  response_status: number | null;
  response_headers: Json<Record<string, string> | null>;
  response_body: Json<unknown>;
  created_at: Timestamp;
}

/** One row per key-encryption key version ever used: its check value, never the key. */
export interface KeyVersionsTable {
  version: number;
  check_value: string;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
  retired_at: Timestamp | null;
}

/** The one row of the key ring's shared state. */
export interface KeyRingTable {
  id: ColumnType<boolean, boolean | undefined, never>;
  min_decryption_version: number;
  /** The fingerprint key, wrapped by the KEK of fingerprint_key_version (AAD: its purpose). */
  fingerprint_key: Buffer | null;
  fingerprint_key_version: number | null;
}

export interface KeyRotationsTable {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  target_version: number;
  batch_size: number;
  batch_delay_ms: number;
  /** Raise the minimum decryption version to target_version once every record is re-wrapped. */
  retire_previous: boolean;
  records_total: number;
  records_rewrapped: Generated<number>;
  passes: Generated<number>;
  /** The resume position: every record up to this id (in this pass) is re-wrapped. */
  last_id: string | null;
  error: string | null;
  lease_owner: string | null;
  lease_until: Timestamp | null;
  created_by: Json<ActorRow>;
  started_at: Timestamp;
  updated_at: Timestamp;
  finished_at: Timestamp | null;
}

/** A connect session (issue 14): its token as a hash only, single use by a compare-and-set on status. */
export interface ConnectSessionsTable {
  id: string;
  tenant_id: string;
  token_hash: string;
  /** 'completing' while one submission holds it; the API shows it as pending. */
  status: 'pending' | 'completing' | 'completed' | 'cancelled';
  environment: 'test' | 'production';
  slots: Json<ConnectSessionSlotRow[]>;
  end_user: Json<{ id: string; display_name?: string }>;
  return_url: string;
  expires_at: Timestamp;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  connection_ids: Json<string[]>;
  form_token_hash: string | null;
  created_by: Json<ActorRow>;
  /** The page's theme (migration 9): name, logo_url, accent_color; null when none. */
  branding: Json<ConnectSessionBrandingRow> | null;
}

export interface ConnectSessionBrandingRow {
  name?: string;
  logo_url?: string;
  accent_color?: string;
}

export interface ConnectSessionSlotRow {
  provider?: string;
  category?: string;
  connection_id?: string;
  settings?: Record<string, unknown>;
}

export interface Database {
  connect_sessions: ConnectSessionsTable;
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  connections: ConnectionsTable;
  connection_events: ConnectionEventsTable;
  sync_runs: SyncRunsTable;
  idempotency_keys: IdempotencyKeysTable;
  audit_events: AuditEventsTable;
  key_versions: KeyVersionsTable;
  key_ring: KeyRingTable;
  key_rotations: KeyRotationsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  secrets_ciphertext: Buffer;
  secrets_key: Buffer;
  secrets_key_version: number;
  previous_secret_expires_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookEventsTable {
  id: string;
  tenant_id: string;
  connection_id: string | null;
  type: string;
  payload: Json<Record<string, unknown>>;
  occurred_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<string>;
  endpoint_id: string;
  event_id: string;
  ordering_key: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts_made: Generated<number>;
  next_attempt_at: Timestamp | null;
  lease_until: Timestamp | null;
  created_at: Timestamp;
}

export interface WebhookAttemptsTable {
  id: Generated<string>;
  delivery_id: string;
  attempted_at: Timestamp;
  status_code: number | null;
  latency_ms: number;
  response_body: string | null;
  error: string | null;
}
