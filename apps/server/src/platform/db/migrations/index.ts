/**
 * Versioned SQL migrations, applied in order at start by `migrate()`. A migration is never
 * edited once released: a change is a new migration. Plain PostgreSQL that PGlite runs too.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'tenants, api keys, connections, events, sync runs, idempotency keys',
    sql: `
CREATE TABLE tenants (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL
);
CREATE INDEX tenants_created_at_id ON tenants (created_at, id);

CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  name          text NOT NULL,
  scopes        text[] NOT NULL,
  prefix        text NOT NULL,
  key_hash      bytea NOT NULL UNIQUE,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);

CREATE TABLE connections (
  id                     text PRIMARY KEY,
  tenant_id              text NOT NULL REFERENCES tenants (id),
  provider               text NOT NULL,
  reference              text,
  name                   text NOT NULL,
  description            text,
  environment            text NOT NULL CHECK (environment IN ('test', 'production')),
  status                 text NOT NULL CHECK (status IN ('pending_auth', 'active', 'error', 'disabled', 'archived')),
  status_message         text,
  enabled                boolean NOT NULL,
  priority               integer NOT NULL,
  settings               jsonb NOT NULL,
  credentials_ciphertext bytea,
  credentials_key        bytea,
  credentials_key_version integer,
  credentials_summary    jsonb NOT NULL,
  sync_config            jsonb NOT NULL,
  metadata               jsonb NOT NULL,
  tags                   text[] NOT NULL,
  linked_resources       jsonb NOT NULL,
  last_sync_at           timestamptz,
  last_error             jsonb,
  consecutive_failures   integer NOT NULL DEFAULT 0,
  created_at             timestamptz NOT NULL,
  created_by             jsonb NOT NULL,
  updated_at             timestamptz NOT NULL,
  updated_by             jsonb NOT NULL,
  archived_at            timestamptz,
  version                integer NOT NULL
);
-- A reference is unique per tenant and environment among connections that are not archived.
CREATE UNIQUE INDEX connections_reference_unique ON connections (tenant_id, environment, reference)
  WHERE archived_at IS NULL AND reference IS NOT NULL;
-- Keyset pagination: one index per sort, each ending with id for a stable order.
CREATE INDEX connections_tenant_created ON connections (tenant_id, created_at, id);
CREATE INDEX connections_tenant_updated ON connections (tenant_id, updated_at, id);
CREATE INDEX connections_tenant_name ON connections (tenant_id, name, id);
CREATE INDEX connections_tenant_priority ON connections (tenant_id, priority, id);
-- The default connection of a provider in an environment.
CREATE INDEX connections_default ON connections (tenant_id, provider, environment, priority DESC, created_at, id)
  WHERE enabled AND status = 'active';
CREATE INDEX connections_tags ON connections USING gin (tags);
CREATE INDEX connections_linked_resources ON connections USING gin (linked_resources jsonb_path_ops);

CREATE TABLE connection_events (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  connection_id   text NOT NULL REFERENCES connections (id),
  action          text NOT NULL,
  actor           jsonb NOT NULL,
  changed_fields  text[] NOT NULL,
  status_from     text,
  status_to       text,
  request_id      text,
  occurred_at     timestamptz NOT NULL
);
CREATE INDEX connection_events_connection ON connection_events (connection_id, occurred_at DESC, id DESC);

CREATE TABLE sync_runs (
  id                 text PRIMARY KEY,
  tenant_id          text NOT NULL,
  connection_id      text NOT NULL REFERENCES connections (id),
  outcome            text NOT NULL,
  entity             text,
  direction          text,
  started_at         timestamptz,
  finished_at        timestamptz,
  records_processed  integer,
  records_failed     integer,
  error              jsonb,
  recorded_at        timestamptz NOT NULL
);
CREATE INDEX sync_runs_connection ON sync_runs (connection_id, recorded_at DESC);

CREATE TABLE idempotency_keys (
  tenant_id        text NOT NULL,
  key              text NOT NULL,
  operation        text NOT NULL,
  request_hash     text NOT NULL,
  state            text NOT NULL CHECK (state IN ('in_flight', 'done')),
  response_status  integer,
  response_headers jsonb,
  response_body    jsonb,
  created_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`,
  },
  {
    version: 2,
    name: 'tenant keys never hold platform rights; sync workers keep reporting runs',
    // The `admin` scope let a tenant key act in every tenant: it is gone. Keys that could
    // report sync runs through connections:write get the narrow sync_runs:write that
    // reportSyncRun now needs, so running workers keep working after the upgrade.
    sql: `
UPDATE api_keys SET scopes = array_remove(scopes, 'admin') WHERE 'admin' = ANY (scopes);
UPDATE api_keys SET scopes = array_append(scopes, 'sync_runs:write')
  WHERE 'connections:write' = ANY (scopes) AND NOT ('sync_runs:write' = ANY (scopes));
`,
  },
  {
    version: 3,
    name: 'platform keys, key expiry and rotation, the audit trail',
    // Platform keys live beside tenant keys (one hashed lookup authenticates both): kind
    // 'platform' and no tenant, enforced by a CHECK so a row can never be both. Rotation
    // sets the old key's expires_at to the end of the overlap and names its successor.
    // Audit entries name the server's request id and, apart, the one the client sent.
    sql: `
ALTER TABLE api_keys ALTER COLUMN tenant_id DROP NOT NULL;
ALTER TABLE api_keys ADD COLUMN kind text NOT NULL DEFAULT 'tenant' CHECK (kind IN ('tenant', 'platform'));
ALTER TABLE api_keys ADD CONSTRAINT api_keys_kind_has_tenant CHECK ((kind = 'platform') = (tenant_id IS NULL));
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN replaced_by text REFERENCES api_keys (id);
CREATE INDEX api_keys_platform ON api_keys (id) WHERE kind = 'platform';

CREATE TABLE audit_events (
  id                 text PRIMARY KEY,
  tenant_id          text,
  action             text NOT NULL,
  actor              jsonb NOT NULL,
  target_type        text NOT NULL,
  target_id          text,
  connection_id      text,
  changed_fields     text[] NOT NULL,
  details            jsonb NOT NULL,
  request_id         text NOT NULL,
  client_request_id  text,
  occurred_at        timestamptz NOT NULL
);
CREATE INDEX audit_events_tenant ON audit_events (tenant_id, occurred_at DESC, id DESC);
`,
  },
  {
    version: 4,
    name: 'rate limit counts shared by every server process',
    // rate-limiter-flexible's PostgreSQL store (platform/rate-limits.ts): one row per policy
    // and subject (`per_key:key_...`), its count and when its window ends (ms since the epoch).
    // Created here, under the migrations' lock: the library's own CREATE TABLE IF NOT EXISTS
    // at start races when two processes start at once.
    sql: `
CREATE TABLE rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
CREATE INDEX rate_limits_expire ON rate_limits (expire);
`,
  },
  {
    version: 5,
    name: 'idempotency claims with a lease and a holder, replies tied to their connection, keyed request hashes',
    // Request hashes become a keyed HMAC (decision 0020). The unkeyed SHA-256 of existing
    // rows could confirm a guessed credential in a database dump, and cannot be compared
    // with an HMAC: they are overwritten, so a retry of a key sent before the upgrade is a
    // 422 (use a new key) for the rest of its 24 hours, never a second execution.
    sql: `
ALTER TABLE idempotency_keys ADD COLUMN claim_token text;
ALTER TABLE idempotency_keys ADD COLUMN lease_expires_at timestamptz;
ALTER TABLE idempotency_keys ADD COLUMN connection_id text;
UPDATE idempotency_keys SET request_hash = 'retired-unkeyed-sha256';
CREATE INDEX idempotency_keys_connection ON idempotency_keys (tenant_id, connection_id) WHERE connection_id IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'key ring: key-check values, the stable fingerprint key, key rotations',
    // One row per key-encryption key version ever used, with its check value (never the key):
    // start-up compares each configured key with it. key_ring holds one row: the minimum
    // decryption version and the fingerprint key, wrapped by a KEK (its version beside it).
    // A rotation's progress (the last id re-wrapped) is committed with each batch, so a
    // crashed job resumes where it stopped; its lease says which process runs it.
    sql: `
CREATE TABLE key_versions (
  version      integer PRIMARY KEY,
  check_value  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  retired_at   timestamptz
);
CREATE TABLE key_ring (
  id                       boolean PRIMARY KEY DEFAULT true CHECK (id),
  min_decryption_version   integer NOT NULL DEFAULT 0,
  fingerprint_key          bytea,
  fingerprint_key_version  integer
);
INSERT INTO key_ring (id) VALUES (true);
CREATE TABLE key_rotations (
  id                 text PRIMARY KEY,
  status             text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  target_version     integer NOT NULL,
  batch_size         integer NOT NULL,
  batch_delay_ms     integer NOT NULL,
  retire_previous    boolean NOT NULL,
  records_total      integer NOT NULL,
  records_rewrapped  integer NOT NULL DEFAULT 0,
  passes             integer NOT NULL DEFAULT 0,
  last_id            text,
  error              text,
  lease_owner        text,
  lease_until        timestamptz,
  created_by         jsonb NOT NULL,
  started_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  finished_at        timestamptz
);
CREATE UNIQUE INDEX key_rotations_one_running ON key_rotations (status) WHERE status = 'running';
CREATE INDEX connections_key_version ON connections (credentials_key_version, id) WHERE credentials_key_version IS NOT NULL;
`,
  },
  {
    version: 7,
    name: 'webhooks: endpoints, the outbox of events, deliveries and their attempts',
    // The outbox (decision 0024): an event row and one delivery row per subscribed endpoint are
    // written in the transaction of the change that causes them. Deliveries are the queue:
    // claimed with FOR UPDATE SKIP LOCKED and a lease, one at a time per (endpoint,
    // ordering_key) in id order, so each endpoint sees one connection's events in order.
    sql: `
CREATE TABLE webhook_endpoints (
  id                          text PRIMARY KEY,
  tenant_id                   text NOT NULL REFERENCES tenants (id),
  url                         text NOT NULL,
  description                 text,
  event_types                 text[] NOT NULL,
  enabled                     boolean NOT NULL,
  disabled_reason             text,
  secrets_ciphertext          bytea NOT NULL,
  secrets_key                 bytea NOT NULL,
  secrets_key_version         integer NOT NULL,
  previous_secret_expires_at  timestamptz,
  created_at                  timestamptz NOT NULL,
  updated_at                  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at, id);
CREATE TABLE webhook_events (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants (id),
  connection_id  text,
  type           text NOT NULL,
  payload        jsonb NOT NULL,
  occurred_at    timestamptz NOT NULL
);
CREATE TABLE webhook_deliveries (
  id               bigserial PRIMARY KEY,
  endpoint_id      text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id         text NOT NULL REFERENCES webhook_events (id),
  ordering_key     text NOT NULL,
  status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts_made    integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz,
  lease_until      timestamptz,
  created_at       timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, ordering_key, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);
CREATE TABLE webhook_attempts (
  id             bigserial PRIMARY KEY,
  delivery_id    bigint NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at   timestamptz NOT NULL,
  status_code    integer,
  latency_ms     integer NOT NULL,
  response_body  text,
  error          text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
`,
  },
  {
    version: 8,
    name: 'connect sessions',
    // Issue 14: one-time links to the hosted credentials page. The token is stored as a hash
    // only; a submission claims the row by a compare-and-set on status (single use).
    sql: `
CREATE TABLE connect_sessions (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants (id),
  token_hash       text NOT NULL UNIQUE,
  status           text NOT NULL CHECK (status IN ('pending', 'completing', 'completed', 'cancelled')),
  environment      text NOT NULL,
  slots            jsonb NOT NULL,
  end_user         jsonb NOT NULL,
  return_url       text NOT NULL,
  expires_at       timestamptz NOT NULL,
  created_at       timestamptz NOT NULL,
  completed_at     timestamptz,
  cancelled_at     timestamptz,
  connection_ids   jsonb NOT NULL,
  form_token_hash  text,
  created_by       jsonb NOT NULL
);
CREATE INDEX connect_sessions_tenant ON connect_sessions (tenant_id, id);
`,
  },
  {
    version: 9,
    name: 'connect sessions: the branding of the page',
    // Issue 14: the tenant's name, logo URL (allow-listed) and accent colour for the hosted page.
    sql: `
ALTER TABLE connect_sessions ADD COLUMN branding jsonb;
`,
  },
  {
    version: 10,
    name: 'trigram indexes for the text search q= (name, reference)',
    // Issue 13: q= is `name ILIKE '%term%' OR reference ILIKE '%term%'`, which no btree can
    // serve: without these a search reads every row of the tenant (737 ms at 100,000). pg_trgm
    // is a trusted extension (PostgreSQL 13+): a database's owner may create it without being
    // a superuser; PGlite loads it at open (database.ts). The planner ORs the two indexes
    // (BitmapOr). Built inside the migration's transaction, so writes to connections wait
    // while they build: on a large table, create both with CREATE INDEX CONCURRENTLY under
    // these names before upgrading, and this migration finds them (decision 0026).
    sql: `
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS connections_name_trgm ON connections USING gin (name gin_trgm_ops);
CREATE INDEX IF NOT EXISTS connections_reference_trgm ON connections USING gin (reference gin_trgm_ops);
`,
  },
  {
    version: 11,
    name: 'webhooks: replay index',
    // Issue 15: a replay reads a tenant's events by time, and queues deliveries that are later
    // looked up by event.
    sql: `
CREATE INDEX webhook_events_tenant_time ON webhook_events (tenant_id, occurred_at, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
`,
  },
  {
    version: 12,
    name: 'credential summaries: last4 only on the fields the catalog marks x-patchbay-hint',
    // Issue 12: a summary used to give the last 4 characters of ANY value of 12+ characters (a
    // password's, a store key's). Now only fields marked x-patchbay-hint: last4 get one
    // (decision 0027). This nulls, in stored summaries and in stored idempotent replies (which
    // carry a connection), every last4 on a field that is not marked in the catalog of this
    // change, listed here as provider.field: a migration is never edited, so the list is the
    // catalog as it was. A later catalog change needs no migration for responses (they drop a
    // hint the catalog withholds on read) but a new one to scrub what is stored. Idempotent.
    sql: `
UPDATE connections c
SET credentials_summary = (
  SELECT jsonb_object_agg(f.key, CASE WHEN c.provider || '.' || f.key = ANY (ARRAY['stripe.secret_key', 'chargebee.api_key', 'payven-vpos.api_key', 'pos-connect.api_key', 'razorpay.key_id', 's3.aws_access_key_id', 'sendgrid.api_key']) THEN f.value ELSE jsonb_set(f.value, '{last4}', 'null'::jsonb) END)
  FROM jsonb_each(c.credentials_summary) AS f (key, value)
)
WHERE EXISTS (
  SELECT 1 FROM jsonb_each(c.credentials_summary) AS f (key, value)
  WHERE f.value ->> 'last4' IS NOT NULL AND NOT (c.provider || '.' || f.key = ANY (ARRAY['stripe.secret_key', 'chargebee.api_key', 'payven-vpos.api_key', 'pos-connect.api_key', 'razorpay.key_id', 's3.aws_access_key_id', 'sendgrid.api_key']))
);
UPDATE idempotency_keys i
SET response_body = jsonb_set(i.response_body, '{credentials_summary}', (
  SELECT jsonb_object_agg(f.key, CASE WHEN (i.response_body ->> 'provider') || '.' || f.key = ANY (ARRAY['stripe.secret_key', 'chargebee.api_key', 'payven-vpos.api_key', 'pos-connect.api_key', 'razorpay.key_id', 's3.aws_access_key_id', 'sendgrid.api_key']) THEN f.value ELSE jsonb_set(f.value, '{last4}', 'null'::jsonb) END)
  FROM jsonb_each(i.response_body -> 'credentials_summary') AS f (key, value)
))
WHERE jsonb_typeof(i.response_body -> 'credentials_summary') = 'object'
  AND EXISTS (
    SELECT 1 FROM jsonb_each(i.response_body -> 'credentials_summary') AS f (key, value)
    WHERE f.value ->> 'last4' IS NOT NULL AND NOT ((i.response_body ->> 'provider') || '.' || f.key = ANY (ARRAY['stripe.secret_key', 'chargebee.api_key', 'payven-vpos.api_key', 'pos-connect.api_key', 'razorpay.key_id', 's3.aws_access_key_id', 'sendgrid.api_key']))
  );
`,
  },
];
