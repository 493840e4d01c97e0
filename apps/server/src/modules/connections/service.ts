/**
 * The connection use cases. Each write runs in one transaction: the change, its event, and
 * the version check that keeps two racing writers from losing an update. Expected failures
 * are DomainErrors (errors.ts); the queries, and the sealing and opening of credentials,
 * are the repository's.
 */
import type { CredentialCipher } from '../../platform/crypto/envelope.js';
import type { Db } from '../../platform/db/database.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { DomainError, invalid, invalidCursor } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { satisfies, type Precondition } from '../../platform/preconditions.js';
import type { ProviderCatalog } from '../providers/catalog.js';
import { auditsConnectionChange, type AuditService } from '../audit/service.js';
import { planChange, type ChangePlan } from './changes.js';
import { draftFromBody, type ConnectionDraft } from './drafts.js';
import { providerNotFound } from '../providers/errors.js';
import { archivedConflict, connectionNotFound, referenceTaken, versionMismatch } from './errors.js';
import { etagOf, toApiConnection, toApiEvent, type ConnectionRow } from './format.js';
import { mergePatch } from './merge-patch.js';
import { ConnectionsRepository, isReferenceTaken, type ConnectionFilter, type EventObserver, type SortColumn } from './repository.js';
import { ConnectionRules } from './rules.js';
import { settleStatus } from './status.js';
import { planSyncRun, type SyncRunReport } from './sync-runs.js';
import { toApiSyncRun } from './format.js';
import type { ApiConnection, ApiConnectionEvent, ApiSyncRun, Caller, ConnectionStatus, Environment, PlainCredentials, Summarise } from './types.js';

export type { SyncRunReport };

export interface ListConnectionsQuery extends ConnectionFilter {
  sort?: string;
  limit?: number;
  cursor?: string;
  include_total?: boolean;
}

/** A written connection and the ETag that goes with it. */
export interface ConnectionResult {
  connection: ApiConnection;
  etag: string;
}

const SORTS: Record<string, SortColumn> = { created_at: 'created_at', updated_at: 'updated_at', name: 'name', priority: 'priority' };

const MAX_WRITE_ATTEMPTS = 5;

/** What the connections feature needs of the idempotency feature: an archived connection's
 * stored replies hold the connection, so its archive deletes them in its own transaction. */
export interface StoredReplies {
  forgetConnection(tx: Db, scope: string, connectionId: string): Promise<void>;
}

/** What the connections feature tells the webhooks outbox (decision 0024): each event, inside
 * the transaction that writes it, so no change is without its webhook event and no event
 * without its change. */
export interface ChangeFeed {
  connectionChanged(tx: Db, caller: Caller, event: { connectionId: string; action: string; changed: string[]; statusFrom: ConnectionStatus | null; statusTo: ConnectionStatus | null; at: Date }): Promise<void>;
}

/** Runs each observer in turn, inside the transaction that writes the event. */
function observers(...list: (EventObserver | undefined)[]): EventObserver | undefined {
  const present = list.filter((o): o is EventObserver => o !== undefined);
  if (present.length === 0) return undefined;
  return async (tx, caller, event) => {
    for (const observe of present) await observe(tx, caller, event);
  };
}

/** The audit hook of every connection event: a change that wrote credentials or an endpoint
 * setting, or that a token authorised, is recorded in the change's own transaction. */
function auditTrail(audit: AuditService, endpointFields: Set<string>): EventObserver {
  return async (tx, caller, event) => {
    const credentialsTouched = event.changed.some((field) => field.startsWith('credentials.') || endpointFields.has(field));
    if (!auditsConnectionChange(caller.actor, credentialsTouched)) return;
    await audit.record(
      caller,
      { tenantId: caller.tenantId, action: `connection.${event.action}`, target: { type: 'connection', id: event.connectionId }, connectionId: event.connectionId, changed: event.changed, at: event.at },
      tx,
    );
  };
}

/** A row as a response shows it: its summary with only the hints the catalog allows now (hints.ts). */
const toApi = (row: ConnectionRow, rules: ConnectionRules): ApiConnection => toApiConnection(row, rules.hintedCredentials(row.provider));
const result = (row: ConnectionRow, rules: ConnectionRules): ConnectionResult => ({ connection: toApi(row, rules), etag: etagOf(row.version) });

export class ConnectionsService {
  private readonly repository: ConnectionsRepository;
  private readonly rules: ConnectionRules;
  /** The repository summarises credentials: it holds the fingerprint key. */
  private readonly summarise: Summarise;

  constructor(
    db: Db,
    private readonly catalog: ProviderCatalog,
    cipher: CredentialCipher,
    audit?: AuditService,
    replies?: StoredReplies,
    feed?: ChangeFeed,
  ) {
    this.rules = new ConnectionRules(catalog);
    const forgetReplies: EventObserver | undefined = replies
      ? async (tx, caller, event) => {
          if (event.action === 'archived') await replies.forgetConnection(tx, caller.tenantId, event.connectionId);
        }
      : undefined;
    const outbox: EventObserver | undefined = feed ? (tx, caller, event) => feed.connectionChanged(tx, caller, event) : undefined;
    this.repository = new ConnectionsRepository(db, cipher, observers(audit ? auditTrail(audit, this.rules.endpointFields()) : undefined, forgetReplies, outbox));
    this.summarise = (provider, tenantId, credentials, previous, now) => this.repository.summarise(tenantId, credentials, previous, now, this.rules.hintedCredentials(provider));
  }

  /**
   * Runs `work` in one transaction with a copy of this service bound to it: every write the
   * copy makes (its events, audit entries and outbox rows included) commits or rolls back
   * with the rest of `work`, which gets the transaction for writes of its own. For a use case
   * that writes several connections as one unit (a connect session's slots). A write that
   * fails on a database error aborts the whole transaction; field errors (DomainErrors with
   * issues) are found before a write and leave it usable.
   */
  transaction<T>(work: (tx: Db, connections: ConnectionsService) => Promise<T>): Promise<T> {
    return this.repository.transaction((repository) => {
      const bound = Object.create(this) as ConnectionsService;
      Object.defineProperty(bound, 'repository', { value: repository });
      return work(repository.executor, bound);
    });
  }

  // ---- reads -------------------------------------------------------------------------

  async get(caller: Pick<Caller, 'tenantId'>, id: string): Promise<ConnectionResult> {
    const row = await this.repository.find(caller.tenantId, id);
    if (!row) throw connectionNotFound(id);
    return result(row, this.rules);
  }

  /** The enabled, active connection of highest priority. */
  async getDefault(caller: Pick<Caller, 'tenantId'>, provider: string, environment: Environment): Promise<ConnectionResult> {
    if (!this.catalog.get(provider)) throw providerNotFound(provider);
    const row = await this.repository.findDefault(caller.tenantId, provider, environment);
    if (!row) throw new DomainError('not_found', `No enabled, active ${provider} connection in ${environment}.`);
    return result(row, this.rules);
  }

  /** A page in keyset order; the cursor is bound to the filters and the sort it was made for.
   * `include_total` counts the matches exactly up to `totalCap` (PATCHBAY_TOTAL_COUNT_CAP);
   * beyond it total_count is the cap and total_count_capped says so. */
  async list(
    caller: Pick<Caller, 'tenantId'>,
    query: ListConnectionsQuery,
    options: { totalCap: number },
  ): Promise<{ data: ApiConnection[]; next_cursor: string | null; total_count?: number; total_count_capped?: boolean }> {
    const { sort = '-created_at', limit = 50, cursor, include_total, ...filter } = query;
    const descending = sort.startsWith('-');
    const column = SORTS[sort.replace(/^-/, '')]!;
    const filterKey = JSON.stringify([filter.provider, filter.status, filter.environment, filter.enabled, filter.tag, filter.q, filter.linked_object_type, filter.linked_object_id, sort]);

    let after: { value: unknown; id: string } | undefined;
    const list = `connections:${caller.tenantId}`;
    if (cursor !== undefined) {
      const position = decodeCursor(cursor, list);
      const valueType = column === 'priority' ? 'number' : 'string';
      if (!position || position.f !== filterKey || typeof position.id !== 'string' || typeof position.v !== valueType) {
        throw invalidCursor('The cursor does not belong to this list with these filters and this sort.');
      }
      after = { value: position.v, id: position.id };
    }

    const { rows, total } = await this.repository.list(caller.tenantId, filter, { column, descending, after, limit, ...(include_total === true ? { total: { cap: options.totalCap } } : {}) });
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const lastValue = last?.[column];
    const next_cursor =
      rows.length > limit && last ? encodeCursor(list, { f: filterKey, v: lastValue instanceof Date ? lastValue.toISOString() : lastValue, id: last.id }) : null;
    return { data: data.map((row) => toApi(row, this.rules)), next_cursor, ...(total === undefined ? {} : { total_count: total.count, total_count_capped: total.capped }) };
  }

  async listEvents(caller: Pick<Caller, 'tenantId'>, connectionId: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiConnectionEvent[]; next_cursor: string | null }> {
    if (!(await this.repository.exists(caller.tenantId, connectionId))) throw connectionNotFound(connectionId);
    const limit = query.limit ?? 50;
    const list = `events:${caller.tenantId}:${connectionId}`;
    let before: { at: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') throw invalidCursor();
      before = { at: new Date(position.at), id: position.id };
    }
    const rows = await this.repository.listEvents(connectionId, before, limit);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return {
      data: data.map(toApiEvent),
      next_cursor: rows.length > limit && last ? encodeCursor(list, { at: new Date(last.occurred_at).toISOString(), id: last.id }) : null,
    };
  }

  // ---- writes ------------------------------------------------------------------------

  /** `given` are the credentials the body carries, undefined when it carries none; `disabled`
   * creates the connection disabled (an upsert asking for it): one insert, one event. */
  async create(caller: Caller, provider: string, draft: ConnectionDraft, given: PlainCredentials | undefined, options: { disabled?: boolean } = {}): Promise<ConnectionResult> {
    const spec = this.rules.provider(provider);
    this.rules.requireCredentialsWrite(caller, spec.slug, { credentials: given !== undefined, settingsAfter: draft.settings });
    const credentials = given ?? {};
    const issues = [...this.rules.draft(spec, draft), ...this.rules.credentials(spec.slug, credentials, 'partial')];
    if (issues.length) throw invalid(issues);

    const id = newId('conn');
    const now = new Date();
    const status = options.disabled ? 'disabled' : settleStatus('active', this.rules.credentialsComplete(spec.slug, credentials));
    const summary = this.summarise(spec.slug, caller.tenantId, credentials, {}, now);
    // A unique violation aborts the transaction, so the holder of the reference is looked up
    // after it has rolled back (inside it the lookup fails, and on PGlite's single
    // connection a query outside it would wait for it forever).
    try {
      return await this.repository.transaction(async (tx) => {
        const row = await tx.insert(caller, id, spec.slug, { draft, status, credentials: { plain: credentials, summary } }, now);
        const changed = [...Object.keys(draft).filter((k) => k !== 'status_message'), ...Object.keys(credentials).map((k) => `credentials.${k}`)].sort();
        await tx.appendEvent(caller, { connectionId: id, action: 'created', changed, statusFrom: null, statusTo: status, at: now });
        const created = result(row, this.rules);
        await tx.beforeCommit(caller, created, { connectionId: id });
        return created;
      });
    } catch (error) {
      if (isReferenceTaken(error)) throw await this.referenceTaken(caller.tenantId, draft);
      throw error;
    }
  }

  /**
   * Applies `plan` to the current row, read FOR UPDATE inside the transaction, so racing
   * writers without If-Match queue up on the row and none loses its update; with If-Match a
   * moved row is a 412.
   */
  private async write(caller: Caller, id: string, preconditions: (Precondition | undefined)[], plan: (row: ConnectionRow) => ChangePlan): Promise<ConnectionResult> {
    let target: { reference: string | null; environment: Environment } | undefined;
    try {
      return await this.repository.transaction(async (tx) => {
        const current = await tx.find(caller.tenantId, id, { forUpdate: true });
        if (!current) throw connectionNotFound(id);
        if (!satisfies(preconditions, current.version)) throw versionMismatch(current.version);
        if (current.status === 'archived') throw archivedConflict(id);
        const change = plan(current);
        if (change.changed.length === 0) return result(current, this.rules);
        const now = new Date();
        target = { reference: change.draft.reference, environment: change.draft.environment };
        const row = await tx.update(current, change, caller.actor, now);
        if (!row) throw versionMismatch(current.version + 1);
        const statusFrom = change.status !== current.status ? current.status : null;
        const onlyStatus = change.changed.every((f) => f === 'status' || f === 'status_message');
        await tx.appendEvent(caller, {
          connectionId: id,
          action: statusFrom && change.action === 'updated' && onlyStatus ? 'status_changed' : change.action,
          changed: change.changed,
          statusFrom,
          statusTo: statusFrom ? change.status : null,
          at: now,
        });
        return result(row, this.rules);
      });
    } catch (error) {
      if (target && isReferenceTaken(error)) throw await this.referenceTaken(caller.tenantId, target);
      throw error;
    }
  }

  /** PATCH (merge patch) and the update half of an upsert: members left out keep their value. */
  async update(caller: Caller, id: string, patch: Record<string, unknown>, ifMatch: Precondition | undefined, ifNoneMatch?: Precondition): Promise<ConnectionResult> {
    return this.write(caller, id, [ifMatch, ifNoneMatch], (row) => {
      const spec = this.rules.provider(row.provider);
      const credentials = 'credentials' in patch ? () => (patch.credentials === null ? {} : mergePatch(this.repository.openCredentials(row), patch.credentials)) : undefined;
      return planChange(this.rules, this.summarise, caller, row, spec, { kind: 'patch', patch }, credentials, 'updated');
    });
  }

  /** PUT: every member replaced; those left out take their defaults, credentials are kept unless given. */
  async replace(caller: Caller, id: string, body: Record<string, unknown>, ifMatch: Precondition | undefined): Promise<ConnectionResult> {
    return this.write(caller, id, [ifMatch], (row) => {
      if (body.provider !== undefined && body.provider !== row.provider) {
        throw invalid([{ pointer: '/provider', message: `cannot change: this is a ${row.provider} connection` }]);
      }
      const spec = this.rules.provider(row.provider);
      const credentials = body.credentials === undefined ? undefined : () => body.credentials as PlainCredentials;
      return planChange(this.rules, this.summarise, caller, row, spec, { kind: 'replace', draft: draftFromBody(body, spec), status: body.status as ConnectionStatus | undefined }, credentials, 'replaced');
    });
  }

  /** PUT .../credentials: every secret field at once, validated with the required ones. */
  async replaceCredentials(caller: Caller, id: string, credentials: PlainCredentials, ifMatch: Precondition | undefined): Promise<ConnectionResult> {
    return this.write(caller, id, [ifMatch], (row) => {
      const issues = this.rules.credentials(row.provider, credentials, 'full');
      if (issues.length) throw invalid(issues);
      const plan = planChange(this.rules, this.summarise, caller, row, this.rules.provider(row.provider), { kind: 'credentials' }, () => credentials, 'credentials_replaced');
      // Rotating to the same values is still a rotation the audit trail should show.
      if (plan.changed.length === 0) plan.changed = Object.keys(credentials).map((k) => `credentials.${k}`).sort();
      return plan;
    });
  }

  /** DELETE: archive. The row stays for audit; its credentials are destroyed. Read, checked and
   * written in one transaction with the row locked, so a PATCH landing at the same time
   * either happens before (and the archive sees it) or waits and finds it archived. */
  async archive(caller: Caller, id: string, ifMatch: Precondition | undefined): Promise<ConnectionResult> {
    return this.repository.transaction(async (tx) => {
      const current = await tx.find(caller.tenantId, id, { forUpdate: true });
      if (!current) throw connectionNotFound(id);
      if (!satisfies([ifMatch], current.version)) throw versionMismatch(current.version);
      if (current.status === 'archived') return result(current, this.rules);
      const now = new Date();
      const row = await tx.archive(current, caller.actor, now);
      if (!row) throw versionMismatch(current.version + 1);
      const changed = ['status', 'enabled', 'archived_at', ...Object.keys(current.credentials_summary).map((k) => `credentials.${k}`)];
      await tx.appendEvent(caller, { connectionId: id, action: 'archived', changed, statusFrom: current.status, statusTo: 'archived', at: now });
      return result(row, this.rules);
    });
  }

  /** PUT /v1/providers/{slug}/connections/{reference}: create, or update what is given. */
  async upsert(caller: Caller, provider: string, reference: string, body: Record<string, unknown>, conditions: { ifMatch?: Precondition; ifNoneMatch?: Precondition } = {}): Promise<ConnectionResult & { created: boolean }> {
    const { ifMatch, ifNoneMatch } = conditions;
    const spec = this.catalog.get(provider);
    if (!spec) throw providerNotFound(provider);
    const environment = (body.environment as Environment | undefined) ?? 'production';
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const existing = await this.repository.findByReference(caller.tenantId, environment, reference);
      if (existing) {
        if (existing.provider !== provider) {
          throw new DomainError('conflict', `Reference '${reference}' is used by a ${existing.provider} connection in ${environment}.`, {
            issues: [{ input: 'reference', message: `is used by ${existing.id}` }],
          });
        }
        return { ...(await this.update(caller, existing.id, body, ifMatch, ifNoneMatch)), created: false };
      }
      if (!satisfies([ifMatch, ifNoneMatch], undefined)) {
        throw new DomainError('version_mismatch', `No connection with reference '${reference}' exists yet, so If-Match cannot match; nothing was created.`, { details: { current_version: null } });
      }
      const { status: requested, ...rest } = body;
      const draft = draftFromBody({ name: spec.name, ...rest, reference, environment }, spec);
      try {
        const created = await this.create(caller, provider, draft, body.credentials as PlainCredentials | undefined, { disabled: requested === 'disabled' });
        return { ...created, created: true };
      } catch (error) {
        // Another request created it between our read and our insert: update that one instead.
        if (error instanceof DomainError && error.code === 'conflict' && attempt < MAX_WRITE_ATTEMPTS) continue;
        throw error;
      }
    }
    throw new DomainError('conflict', `Reference '${reference}' is being written by other requests; retry.`);
  }

  /** A sync worker's report: records the run and moves the connection's health. One read,
   * locked: concurrent reports count failures one by one, and an archive cannot slip in. */
  reportSyncRun(caller: Caller, id: string, report: SyncRunReport): Promise<ApiSyncRun> {
    const now = new Date();
    return this.repository.transaction(async (tx) => {
      const row = await tx.find(caller.tenantId, id, { forUpdate: true });
      if (!row) throw connectionNotFound(id);
      const plan = planSyncRun(this.rules, row, report, () => tx.openCredentials(row), now);
      const updated = await tx.recordHealth(row, plan.health, caller.actor, now);
      const run = await tx.insertSyncRun(caller, id, plan.run, now);
      await tx.appendEvent(caller, { connectionId: id, ...plan.event, at: now });
      const reported = toApiSyncRun(run, updated);
      await tx.beforeCommit(caller, reported, { connectionId: id });
      return reported;
    });
  }

  private async referenceTaken(tenantId: string, draft: { reference: string | null; environment: Environment }): Promise<DomainError> {
    const holder = draft.reference ? await this.repository.findByReference(tenantId, draft.environment, draft.reference) : undefined;
    return referenceTaken(draft, holder?.id);
  }
}
