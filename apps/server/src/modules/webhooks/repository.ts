/**
 * Every query of the webhooks feature, and the only place its signing secrets are sealed and
 * opened (decision 0024). The outbox is written here, inside the transaction of the change
 * that causes it: the event row and one delivery row per endpoint that wants it.
 */
import { sql } from 'kysely';
import type { CredentialCipher } from '../../platform/crypto/envelope.js';
import type { Db } from '../../platform/db/database.js';
import type { WebhookDeliveriesTable, WebhookEndpointsTable } from '../../platform/db/schema.js';
import type { Selectable } from 'kysely';

export type EndpointRow = Selectable<WebhookEndpointsTable>;
export type DeliveryRow = Selectable<WebhookDeliveriesTable>;

/** The plaintext signing secrets of one endpoint: the current one and, during a rotation's
 * overlap, the previous one. Exists only between the cipher and the service. */
export interface EndpointSecrets {
  current: string;
  previous?: string;
}

export interface NewEndpoint {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  secrets: EndpointSecrets;
  now: Date;
}

export interface OutboxEvent {
  id: string;
  tenantId: string;
  connectionId: string | null;
  type: string;
  payload: Record<string, unknown>;
  at: Date;
  /** Deliveries of one key reach each endpoint in order (the connection id, or the endpoint's own id). */
  orderingKey: string;
  /** An endpoint that must not receive it (the one being disabled). */
  exceptEndpoint?: string;
}

/** A claimed delivery with what sending it needs. */
export interface ClaimedDelivery extends DeliveryRow {
  url: string;
  tenant_id: string;
  event_type: string;
  payload: Record<string, unknown>;
}

export interface AttemptRecord {
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
}

const json = (value: unknown): string => JSON.stringify(value);

export class WebhooksRepository {
  constructor(
    private readonly db: Db,
    private readonly cipher: CredentialCipher,
  ) {}

  /** The repository bound to a transaction another feature opened (the outbox hook). */
  within(tx: Db): WebhooksRepository {
    return new WebhooksRepository(tx, this.cipher);
  }

  transaction<T>(work: (repository: WebhooksRepository) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => work(new WebhooksRepository(tx, this.cipher)));
  }

  // ---- endpoints ---------------------------------------------------------------------

  insertEndpoint(endpoint: NewEndpoint): Promise<EndpointRow> {
    return this.db
      .insertInto('webhook_endpoints')
      .values({
        id: endpoint.id,
        tenant_id: endpoint.tenantId,
        url: endpoint.url,
        description: endpoint.description,
        event_types: endpoint.eventTypes,
        enabled: endpoint.enabled,
        disabled_reason: null,
        ...this.seal(endpoint.tenantId, endpoint.id, endpoint.secrets),
        previous_secret_expires_at: null,
        created_at: endpoint.now,
        updated_at: endpoint.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  findEndpoint(tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<EndpointRow | undefined> {
    const query = this.db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId);
    return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
  }

  listEndpoints(tenantId: string, after: { at: Date; id: string } | undefined, limit: number): Promise<EndpointRow[]> {
    let query = this.db.selectFrom('webhook_endpoints').selectAll().where('tenant_id', '=', tenantId);
    if (after) query = query.where(sql<boolean>`(created_at, id) > (${after.at}, ${after.id})`);
    return query.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit + 1).execute();
  }

  updateEndpoint(
    row: EndpointRow,
    changes: Partial<Pick<EndpointRow, 'url' | 'description' | 'event_types' | 'enabled' | 'disabled_reason' | 'previous_secret_expires_at'>>,
    now: Date,
    secrets?: EndpointSecrets,
  ): Promise<EndpointRow> {
    return this.db
      .updateTable('webhook_endpoints')
      .set({ ...changes, ...(secrets ? this.seal(row.tenant_id, row.id, secrets) : {}), updated_at: now })
      .where('id', '=', row.id)
      .where('tenant_id', '=', row.tenant_id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async deleteEndpoint(tenantId: string, id: string): Promise<boolean> {
    const deleted = await this.db.deleteFrom('webhook_endpoints').where('id', '=', id).where('tenant_id', '=', tenantId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  }

  // ---- the outbox --------------------------------------------------------------------

  /** The subject of a connection event, read in the change's transaction (after its write). */
  connectionSubject(tenantId: string, connectionId: string): Promise<{ provider: string; environment: string; version: number } | undefined> {
    return this.db
      .selectFrom('connections')
      .select(['provider', 'environment', 'version'])
      .where('id', '=', connectionId)
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
  }

  /** Writes the event and a delivery for every enabled endpoint of the tenant that wants its type. */
  async appendOutbox(event: OutboxEvent): Promise<number> {
    let endpoints = this.db
      .selectFrom('webhook_endpoints')
      .select('id')
      .where('tenant_id', '=', event.tenantId)
      .where('enabled', '=', true)
      .where(sql<boolean>`(cardinality(event_types) = 0 OR ${event.type} = ANY(event_types))`);
    if (event.exceptEndpoint) endpoints = endpoints.where('id', '!=', event.exceptEndpoint);
    const targets = await endpoints.execute();
    if (targets.length === 0) return 0;
    await this.db
      .insertInto('webhook_events')
      .values({ id: event.id, tenant_id: event.tenantId, connection_id: event.connectionId, type: event.type, payload: json(event.payload), occurred_at: event.at })
      .execute();
    await this.db
      .insertInto('webhook_deliveries')
      .values(targets.map((t) => ({ endpoint_id: t.id, event_id: event.id, ordering_key: event.orderingKey, status: 'pending' as const, next_attempt_at: event.at, lease_until: null, created_at: event.at })))
      .execute();
    return targets.length;
  }

  findEvent(tenantId: string, eventId: string): Promise<{ id: string; connection_id: string | null } | undefined> {
    return this.db.selectFrom('webhook_events').select(['id', 'connection_id']).where('id', '=', eventId).where('tenant_id', '=', tenantId).executeTakeFirst();
  }

  /** A new delivery of an event already sent: after the pending ones of its ordering key. */
  insertRedelivery(endpointId: string, eventId: string, orderingKey: string, now: Date): Promise<DeliveryRow> {
    return this.db
      .insertInto('webhook_deliveries')
      .values({ endpoint_id: endpointId, event_id: eventId, ordering_key: orderingKey, status: 'pending', next_attempt_at: now, lease_until: null, created_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** The tenant's stored events in [from, to) of `types` (all when empty), oldest first, at most `limit`. */
  eventsInRange(tenantId: string, from: Date, to: Date, types: string[], limit: number): Promise<{ id: string; connection_id: string | null }[]> {
    let query = this.db
      .selectFrom('webhook_events')
      .select(['id', 'connection_id'])
      .where('tenant_id', '=', tenantId)
      .where('occurred_at', '>=', from)
      .where('occurred_at', '<', to);
    if (types.length) query = query.where('type', 'in', types);
    return query.orderBy('occurred_at', 'asc').orderBy('id', 'asc').limit(limit).execute();
  }

  /** New deliveries of stored events to one endpoint, in the order given (a replay). */
  async insertReplay(endpointId: string, events: { id: string; connection_id: string | null }[], now: Date): Promise<void> {
    for (let i = 0; i < events.length; i += 500) {
      await this.db
        .insertInto('webhook_deliveries')
        .values(events.slice(i, i + 500).map((e) => ({ endpoint_id: endpointId, event_id: e.id, ordering_key: e.connection_id ?? endpointId, status: 'pending' as const, next_attempt_at: now, lease_until: null, created_at: now })))
        .execute();
    }
  }

  // ---- the worker's queue ------------------------------------------------------------

  /**
   * Claims up to `limit` due deliveries, each the oldest pending one of its (endpoint,
   * ordering key), of enabled endpoints, skipping rows another worker holds (FOR UPDATE SKIP
   * LOCKED) and leasing them until `leaseUntil` so no other process sends them meanwhile.
   */
  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
    return this.db.transaction().execute(async (tx) => {
      const due = await sql<{ id: string }>`
        SELECT d.id FROM webhook_deliveries d
        JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
        WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
          AND (d.lease_until IS NULL OR d.lease_until < ${now})
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries e
            WHERE e.endpoint_id = d.endpoint_id AND e.ordering_key = d.ordering_key AND e.status = 'pending' AND e.id < d.id)
        ORDER BY d.id
        LIMIT ${limit}
        FOR UPDATE OF d SKIP LOCKED`.execute(tx);
      if (due.rows.length === 0) return [];
      const ids = due.rows.map((r) => String(r.id));
      await tx.updateTable('webhook_deliveries').set({ lease_until: leaseUntil }).where('id', 'in', ids).execute();
      const rows = await tx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as w', 'w.id', 'd.endpoint_id')
        .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
        .selectAll('d')
        .select(['w.url', 'w.tenant_id', 'v.type as event_type', 'v.payload'])
        .where('d.id', 'in', ids)
        .orderBy('d.id')
        .execute();
      return rows as ClaimedDelivery[];
    });
  }

  /** The endpoint's secrets that sign at `now`: the current one, and the previous one inside its overlap. */
  async signingSecrets(tenantId: string, endpointId: string, now: Date): Promise<string[] | undefined> {
    const row = await this.findEndpoint(tenantId, endpointId);
    if (!row) return undefined;
    const secrets = this.openSecrets(row);
    const overlap = row.previous_secret_expires_at && new Date(row.previous_secret_expires_at) > now;
    return secrets.previous && overlap ? [secrets.current, secrets.previous] : [secrets.current];
  }

  async recordAttempt(delivery: DeliveryRow, attempt: AttemptRecord, outcome: { status: 'pending' | 'succeeded' | 'failed'; nextAttemptAt: Date | null }): Promise<void> {
    await this.db
      .insertInto('webhook_attempts')
      .values({
        delivery_id: delivery.id,
        attempted_at: attempt.attemptedAt,
        status_code: attempt.statusCode,
        latency_ms: attempt.latencyMs,
        response_body: attempt.responseBody,
        error: attempt.error,
      })
      .execute();
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: outcome.status, attempts_made: delivery.attempts_made + 1, next_attempt_at: outcome.nextAttemptAt, lease_until: null })
      .where('id', '=', delivery.id)
      .execute();
  }

  /** Disables an endpoint Patchbay gave up on; false when it was already disabled or gone. */
  async disableEndpoint(endpointId: string, reason: string, now: Date): Promise<boolean> {
    const result = await this.db
      .updateTable('webhook_endpoints')
      .set({ enabled: false, disabled_reason: reason, updated_at: now })
      .where('id', '=', endpointId)
      .where('enabled', '=', true)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  // ---- the delivery log --------------------------------------------------------------

  async listDeliveries(endpointId: string, before: string | undefined, limit: number) {
    let query = this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .selectAll('d')
      .select(['v.type as event_type', 'v.connection_id'])
      .where('d.endpoint_id', '=', endpointId);
    if (before !== undefined) query = query.where('d.id', '<', before);
    const rows = await query.orderBy('d.id', 'desc').limit(limit + 1).execute();
    const ids = rows.map((r) => r.id);
    const attempts = ids.length
      ? await this.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', ids).orderBy('id', 'asc').execute()
      : [];
    return rows.map((row) => ({ ...row, attempts: attempts.filter((a) => String(a.delivery_id) === String(row.id)) }));
  }

  async deliveryById(id: string) {
    const rows = await this.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as v', 'v.id', 'd.event_id')
      .selectAll('d')
      .select(['v.type as event_type', 'v.connection_id'])
      .where('d.id', '=', id)
      .execute();
    return rows.map((row) => ({ ...row, attempts: [] as never[] }))[0]!;
  }

  // ---- secrets -----------------------------------------------------------------------

  openSecrets(row: EndpointRow): EndpointSecrets {
    const plain = this.cipher.decrypt(
      { ciphertext: Buffer.from(row.secrets_ciphertext), wrappedKey: Buffer.from(row.secrets_key), keyVersion: row.secrets_key_version },
      { tenantId: row.tenant_id, connectionId: row.id },
    );
    return { current: plain.current!, ...(plain.previous ? { previous: plain.previous } : {}) };
  }

  private seal(tenantId: string, endpointId: string, secrets: EndpointSecrets) {
    const sealed = this.cipher.encrypt({ ...secrets }, { tenantId, connectionId: endpointId });
    return { secrets_ciphertext: sealed.ciphertext, secrets_key: sealed.wrappedKey, secrets_key_version: sealed.keyVersion };
  }
}
