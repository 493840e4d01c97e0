/**
 * Webhooks (decision 0024): a tenant's endpoints and their signing secrets, the outbox hook
 * the connections feature calls inside each change's transaction, and the delivery worker
 * every server process runs (claims with FOR UPDATE SKIP LOCKED and a lease, in order per
 * endpoint and connection, at least once, exponential backoff with jitter, endpoints
 * disabled after the whole schedule fails).
 */
import { randomBytes } from 'node:crypto';
import type { CredentialCipher } from '../../platform/crypto/envelope.js';
import type { Db } from '../../platform/db/database.js';
import { afterCommit } from '../../platform/db/after-commit.js';
import type { WebhookConfig } from '../../platform/config.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { DomainError, invalid, invalidCursor } from '../../platform/errors.js';
import { newId, ulid } from '../../platform/ids.js';
import type { Logger } from '../../platform/logger.js';
import type { Caller } from '../../platform/caller.js';
import type { ConnectionsSchema } from '@patchbay/api-types';
import { isLoopback, send, signatureHeader } from './delivery.js';
import { WebhooksRepository, type ClaimedDelivery, type EndpointRow } from './repository.js';

type ApiEndpoint = ConnectionsSchema<'WebhookEndpoint'>;
type ApiDelivery = ConnectionsSchema<'WebhookDelivery'>;
type ApiReplay = ConnectionsSchema<'WebhookReplay'>;
type ApiReplayCreate = ConnectionsSchema<'WebhookReplayCreate'>;
type EventType = ConnectionsSchema<'WebhookEventType'>;

/** A connection event as the connections feature reports it (see ChangeFeed there). */
export interface ConnectionChange {
  connectionId: string;
  action: string;
  changed: string[];
  statusFrom: string | null;
  statusTo: string | null;
  at: Date;
}

const ACTION_TYPES: Record<string, EventType> = {
  created: 'connection.created',
  updated: 'connection.updated',
  replaced: 'connection.replaced',
  credentials_replaced: 'connection.credentials_replaced',
  status_changed: 'connection.status_changed',
  archived: 'connection.archived',
  sync_failed: 'connection.sync_failed',
};

/** The event type of a connection change; a sync success is one only when it ends an error. */
export function eventTypeOf(change: ConnectionChange): EventType | undefined {
  if (change.action === 'sync_succeeded') return change.statusFrom === 'error' && change.statusTo === 'active' ? 'connection.recovered' : undefined;
  return ACTION_TYPES[change.action];
}

const notFound = (id: string) => new DomainError('not_found', `No webhook endpoint ${id} in this tenant.`);
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);
const BATCH = 10;
/** A replay's bounds: the range, and the events it may queue. */
const REPLAY_MAX_MS = 31 * 86_400_000;
export const REPLAY_MAX_EVENTS = 10_000;

/** A lease outlives an attempt's time limit, so a live worker never loses its claim. */
const LEASE_MARGIN_MS = 30_000;

export interface EndpointInput {
  url?: string;
  description?: string | null;
  event_types?: string[];
  enabled?: boolean;
}

export class WebhooksService {
  private readonly repository: WebhooksRepository;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  /** A nudge came while a pass ran: run the next one at once. */
  private again = false;

  constructor(
    db: Db,
    cipher: CredentialCipher,
    private readonly config: WebhookConfig,
    private readonly development: boolean,
    private readonly logger: Logger,
  ) {
    this.repository = new WebhooksRepository(db, cipher);
  }

  // ---- endpoints ---------------------------------------------------------------------

  async create(caller: Pick<Caller, 'tenantId'>, input: EndpointInput & { url: string }): Promise<ApiEndpoint & { signing_secret: string }> {
    this.checkUrl(input.url);
    const secret = newSecret();
    const row = await this.repository.insertEndpoint({
      id: newId('whe'),
      tenantId: caller.tenantId,
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.event_types ?? [],
      enabled: input.enabled ?? true,
      secrets: { current: secret },
      now: new Date(),
    });
    return { ...toApi(row), signing_secret: secret };
  }

  async get(caller: Pick<Caller, 'tenantId'>, id: string): Promise<ApiEndpoint> {
    const row = await this.repository.findEndpoint(caller.tenantId, id);
    if (!row) throw notFound(id);
    return toApi(row);
  }

  async list(caller: Pick<Caller, 'tenantId'>, query: { limit?: number; cursor?: string }): Promise<{ data: ApiEndpoint[]; next_cursor: string | null }> {
    const limit = query.limit ?? 50;
    const list = `webhook-endpoints:${caller.tenantId}`;
    let after: { at: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') throw invalidCursor();
      after = { at: new Date(position.at), id: position.id };
    }
    const rows = await this.repository.listEndpoints(caller.tenantId, after, limit);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return { data: data.map(toApi), next_cursor: rows.length > limit && last ? encodeCursor(list, { at: new Date(last.created_at).toISOString(), id: last.id }) : null };
  }

  async update(caller: Pick<Caller, 'tenantId'>, id: string, patch: EndpointInput): Promise<ApiEndpoint> {
    if (patch.url !== undefined) this.checkUrl(patch.url);
    return this.repository.transaction(async (tx) => {
      const row = await tx.findEndpoint(caller.tenantId, id, { forUpdate: true });
      if (!row) throw notFound(id);
      const changes: Parameters<WebhooksRepository['updateEndpoint']>[1] = {};
      if (patch.url !== undefined) changes.url = patch.url;
      if (patch.description !== undefined) changes.description = patch.description;
      if (patch.event_types !== undefined) changes.event_types = patch.event_types;
      if (patch.enabled !== undefined) {
        changes.enabled = patch.enabled;
        if (patch.enabled) changes.disabled_reason = null;
      }
      return toApi(await tx.updateEndpoint(row, changes, new Date()));
    });
  }

  async delete(caller: Pick<Caller, 'tenantId'>, id: string): Promise<void> {
    if (!(await this.repository.deleteEndpoint(caller.tenantId, id))) throw notFound(id);
  }

  /** A new secret; the previous one keeps signing beside it for `overlapSeconds`. */
  async rotateSecret(caller: Pick<Caller, 'tenantId'>, id: string, overlapSeconds = 86_400): Promise<ApiEndpoint & { signing_secret: string }> {
    return this.repository.transaction(async (tx) => {
      const row = await tx.findEndpoint(caller.tenantId, id, { forUpdate: true });
      if (!row) throw notFound(id);
      const now = new Date();
      const secret = newSecret();
      const previous = tx.openSecrets(row).current;
      const overlap = overlapSeconds > 0;
      const updated = await tx.updateEndpoint(
        row,
        { previous_secret_expires_at: overlap ? new Date(now.getTime() + overlapSeconds * 1000) : null },
        now,
        overlap ? { current: secret, previous } : { current: secret },
      );
      return { ...toApi(updated), signing_secret: secret };
    });
  }

  async listDeliveries(caller: Pick<Caller, 'tenantId'>, id: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiDelivery[]; next_cursor: string | null }> {
    if (!(await this.repository.findEndpoint(caller.tenantId, id))) throw notFound(id);
    const limit = query.limit ?? 50;
    const list = `webhook-deliveries:${id}`;
    let before: string | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || typeof position.id !== 'string') throw invalidCursor();
      before = position.id;
    }
    const rows = await this.repository.listDeliveries(id, before, limit);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return { data: data.map(toApiDelivery), next_cursor: rows.length > limit && last ? encodeCursor(list, { id: String(last.id) }) : null };
  }

  async redeliver(caller: Pick<Caller, 'tenantId'>, id: string, eventId: string): Promise<ApiDelivery> {
    return this.thenNudge(this.repository.transaction(async (tx) => {
      const endpoint = await tx.findEndpoint(caller.tenantId, id, { forUpdate: true });
      if (!endpoint) throw notFound(id);
      if (!endpoint.enabled) throw new DomainError('conflict', `Webhook endpoint ${id} is disabled; enable it before redelivering.`);
      const event = await tx.findEvent(caller.tenantId, eventId);
      if (!event) throw new DomainError('not_found', `No event ${eventId} in this tenant.`);
      const row = await tx.insertRedelivery(id, eventId, event.connection_id ?? id, new Date());
      return toApiDelivery(await tx.deliveryById(String(row.id)));
    }));
  }

  /**
   * Queues the tenant's stored events of [from, to) (of the types asked for, or the endpoint's
   * own) for this endpoint, oldest first, each with its original id: after the deliveries of
   * its connection already pending, so order per connection holds.
   */
  async replay(caller: Pick<Caller, 'tenantId'>, id: string, body: ApiReplayCreate): Promise<ApiReplay> {
    const from = new Date(body.from);
    const to = new Date(body.to);
    if (!(to.getTime() > from.getTime())) throw invalid([{ pointer: '/to', message: 'must be after from' }]);
    if (to.getTime() - from.getTime() > REPLAY_MAX_MS) throw invalid([{ pointer: '/to', message: 'must be at most 31 days after from' }]);
    return this.thenNudge(this.repository.transaction(async (tx) => {
      const endpoint = await tx.findEndpoint(caller.tenantId, id, { forUpdate: true });
      if (!endpoint) throw notFound(id);
      if (!endpoint.enabled) throw new DomainError('conflict', `Webhook endpoint ${id} is disabled; enable it before replaying.`);
      const types = body.event_types?.length ? body.event_types : endpoint.event_types;
      const events = await tx.eventsInRange(caller.tenantId, from, to, types, REPLAY_MAX_EVENTS + 1);
      if (events.length > REPLAY_MAX_EVENTS) throw invalid([{ pointer: '/to', message: `the range holds more than ${REPLAY_MAX_EVENTS} events; replay a shorter one` }]);
      await tx.insertReplay(id, events, new Date());
      return { endpoint_id: id, from: from.toISOString(), to: to.toISOString(), event_types: types as EventType[], events_queued: events.length };
    }));
  }

  private checkUrl(url: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw invalid([{ pointer: '/url', message: 'must be an absolute URL' }]);
    }
    const loopback = LOOPBACK_NAMES.has(parsed.hostname) || isLoopback(parsed.hostname);
    if (parsed.username || parsed.password) throw invalid([{ pointer: '/url', message: 'must not carry a user name or password' }]);
    if (parsed.protocol === 'https:' && (!loopback || this.development)) return;
    if (parsed.protocol === 'http:' && loopback && this.development) return;
    throw invalid([{ pointer: '/url', message: 'must use https (http only to a loopback address in development mode)' }]);
  }

  // ---- the outbox --------------------------------------------------------------------

  /** Called by the connections feature inside the transaction of each change it writes. */
  async connectionChanged(tx: Db, caller: Pick<Caller, 'tenantId'>, change: ConnectionChange): Promise<void> {
    const type = eventTypeOf(change);
    if (!type) return;
    const repository = this.repository.within(tx);
    const subject = await repository.connectionSubject(caller.tenantId, change.connectionId);
    if (!subject) return;
    const deliveries = await repository.appendOutbox({
      id: newId('evt'),
      tenantId: caller.tenantId,
      connectionId: change.connectionId,
      type,
      at: change.at,
      orderingKey: change.connectionId,
      payload: {
        type,
        timestamp: change.at.toISOString(),
        data: {
          connection_id: change.connectionId,
          tenant_id: caller.tenantId,
          provider: subject.provider,
          environment: subject.environment,
          version: subject.version,
          changed_fields: change.changed,
          status_from: change.statusFrom,
          status_to: change.statusTo,
        },
      },
    });
    if (deliveries > 0) this.nudgeAfterCommit(tx);
  }

  /**
   * Called by the connect sessions feature inside the transaction that completes a session
   * (after its connections are written): a `connect_session.completed` event, ids only.
   */
  async connectSessionCompleted(
    tx: Db,
    caller: Pick<Caller, 'tenantId'>,
    session: { id: string; environment: string; end_user: { id: string }; connection_ids: string[]; completed_at: string | null },
  ): Promise<void> {
    const at = session.completed_at ? new Date(session.completed_at) : new Date();
    const type: EventType = 'connect_session.completed';
    const deliveries = await this.repository.within(tx).appendOutbox({
      id: newId('evt'),
      tenantId: caller.tenantId,
      connectionId: null,
      type,
      at,
      // After the session's connections' own events on no key: one key per session.
      orderingKey: session.id,
      payload: {
        type,
        timestamp: at.toISOString(),
        data: { session_id: session.id, tenant_id: caller.tenantId, environment: session.environment, end_user_id: session.end_user.id, connection_ids: session.connection_ids },
      },
    });
    if (deliveries > 0) this.nudgeAfterCommit(tx);
  }

  // ---- the worker --------------------------------------------------------------------

  /**
   * Starts the worker (every server process runs one; PGlite has one process): a pass every
   * `pollMs` (other processes' events, retries that come due, lapsed leases), and a pass at
   * once when this process commits outbox rows (nudge()), so a change's webhook does not wait
   * for the next poll.
   */
  startWorker(): void {
    this.started = true;
    this.stopped = false;
    this.schedule(this.config.pollMs);
  }

  async stopWorker(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Asks for a pass soon (a timer of 0 ms: never inside the caller's transaction, never before
   * its response is on its way). Coalesced: nudges before the pass starts make one pass, and
   * nudges during a pass make one more right after it. A no-op where the worker is off.
   */
  nudge(): void {
    if (!this.started || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /** A nudge once `tx` commits; where `tx` has no after-commit list, the poll finds the rows. */
  private nudgeAfterCommit(tx: Db): void {
    afterCommit(tx, () => this.nudge());
  }

  private async thenNudge<T>(work: Promise<T>): Promise<T> {
    const result = await work;
    this.nudge();
    return result;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  /** One pass at a time; the next is due after `pollMs`, or at once when nudged meanwhile. */
  private tick(): void {
    this.timer = undefined;
    if (this.stopped || this.running) return;
    this.again = false;
    this.running = this.deliverDue()
      .then(() => undefined)
      .catch((error: Error) => this.logger.warn({ err: { message: error.message } }, 'webhook delivery pass failed'))
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.again ? 0 : this.config.pollMs);
      });
  }

  /** One pass: claims due deliveries and sends them, batch after batch, until none is due. */
  async deliverDue(): Promise<number> {
    let sent = 0;
    for (;;) {
      if (this.stopped) return sent;
      const now = new Date();
      const claimed = await this.repository.claimDue(now, new Date(now.getTime() + this.config.timeoutMs + LEASE_MARGIN_MS), BATCH);
      if (claimed.length === 0) return sent;
      // Claimed rows are each the head of their (endpoint, connection): safe to send at once.
      await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
      sent += claimed.length;
    }
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const attemptedAt = new Date();
    const secrets = await this.repository.signingSecrets(delivery.tenant_id, delivery.endpoint_id, attemptedAt);
    if (!secrets) return;
    const body = JSON.stringify(delivery.payload);
    const timestamp = Math.floor(attemptedAt.getTime() / 1000);
    const result = await send(
      delivery.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Patchbay-Webhooks/1',
        'webhook-id': delivery.event_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(secrets, delivery.event_id, timestamp, body),
      },
      body,
      { timeoutMs: this.config.timeoutMs, development: this.development },
    );
    const attemptsMade = delivery.attempts_made + 1;
    const schedule = this.config.retrySchedule;
    const exhausted = !result.ok && attemptsMade > schedule.length;
    const wait = result.ok || exhausted ? null : schedule[attemptsMade - 1]! * 1000 * (1 + Math.random() * 0.1);
    await this.repository.transaction(async (tx) => {
      await tx.recordAttempt(
        delivery,
        { attemptedAt, statusCode: result.statusCode, latencyMs: result.latencyMs, responseBody: result.responseBody, error: result.error },
        { status: result.ok ? 'succeeded' : exhausted ? 'failed' : 'pending', nextAttemptAt: wait === null ? null : new Date(Date.now() + wait) },
      );
      if (!exhausted) return;
      const reason = `Every attempt of the retry schedule failed for event ${delivery.event_id}.`;
      const now = new Date();
      if (!(await tx.disableEndpoint(delivery.endpoint_id, reason, now))) return;
      this.logger.warn({ endpointId: delivery.endpoint_id, eventId: delivery.event_id }, 'webhook endpoint disabled after its retry schedule');
      await tx.appendOutbox({
        id: newId('evt'),
        tenantId: delivery.tenant_id,
        connectionId: null,
        type: 'endpoint.disabled',
        at: now,
        orderingKey: `endpoint:${delivery.endpoint_id}:${ulid()}`,
        exceptEndpoint: delivery.endpoint_id,
        payload: { type: 'endpoint.disabled', timestamp: now.toISOString(), data: { endpoint_id: delivery.endpoint_id, tenant_id: delivery.tenant_id, reason } },
      });
    });
  }
}

/** `whsec_` and base64 of 24 random bytes (Standard Webhooks). */
function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

function toApi(row: EndpointRow): ApiEndpoint {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.event_types as EventType[],
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    previous_secret_expires_at: iso(row.previous_secret_expires_at),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

function toApiDelivery(row: Awaited<ReturnType<WebhooksRepository['listDeliveries']>>[number]): ApiDelivery {
  return {
    endpoint_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type as EventType,
    connection_id: row.connection_id,
    status: row.status,
    attempts_made: row.attempts_made,
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    created_at: iso(row.created_at)!,
    attempts: row.attempts.map((a) => ({
      attempted_at: iso(a.attempted_at)!,
      status_code: a.status_code,
      latency_ms: a.latency_ms,
      response_body: a.response_body,
      error: a.error,
    })),
  };
}
