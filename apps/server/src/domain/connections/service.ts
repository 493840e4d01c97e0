/**
 * The connection use cases. Each runs in one transaction: the change, its event, and the
 * version check that keeps two racing writers from losing an update. Expected failures are
 * thrown as HttpProblem with the problem codes the spec documents; credentials are
 * encrypted before they reach the store and decrypted only to merge a patch.
 */
import { sql, type Transaction } from 'kysely';
import type { CredentialCipher } from '../../crypto/envelope.js';
import { HttpProblem, validationProblem, type FieldError } from '@patchbay/openapi-http';
import type { Db } from '../../store/database.js';
import type { CredentialFieldSummaryRow, Database, LinkedResourceRow } from '../../store/schema.js';
import { newId } from '../ids.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../pagination.js';
import type { Provider, ProviderCatalog } from '../providers/catalog.js';
import { compileProviderValidators, toFieldErrors, type ProviderValidators } from '../providers/validation.js';
import { etagOf, toApiConnection, toApiEvent, toApiSyncRun, type ConnectionRow } from './format.js';
import { changedKeys, mergePatch } from './merge-patch.js';
import { FAILURES_BEFORE_ERROR, REQUESTABLE_TRANSITIONS, canRequest, settleStatus } from './status.js';
import type { ApiConnection, ApiConnectionEvent, ApiSyncRun, Caller, ConnectionStatus, Environment, PlainCredentials } from './types.js';

type Tx = Transaction<Database>;

/** The members a caller can write; each use case fills them from its own request shape. */
export interface ConnectionDraft {
  reference: string | null;
  name: string;
  description: string | null;
  environment: Environment;
  enabled: boolean;
  priority: number;
  settings: Record<string, unknown>;
  sync_config: Record<string, { inbound?: boolean; outbound?: boolean }>;
  metadata: Record<string, string>;
  tags: string[];
  linked_resources: LinkedResourceRow[];
  status_message: string | null;
}

export interface ListConnectionsQuery {
  provider?: string;
  status?: ConnectionStatus[];
  environment?: Environment;
  enabled?: boolean;
  tag?: string[];
  q?: string;
  linked_object_type?: string;
  linked_object_id?: string;
  sort?: string;
  limit?: number;
  cursor?: string;
  include_total?: boolean;
}

export interface SyncRunReport {
  outcome: 'succeeded' | 'failed';
  entity?: string;
  direction?: 'inbound' | 'outbound';
  started_at?: string;
  finished_at?: string;
  records_processed?: number;
  records_failed?: number;
  error?: { code?: string; message: string };
}

/** A written connection and the headers that go with it. */
export interface ConnectionResult {
  connection: ApiConnection;
  etag: string;
}

const SORTS = {
  created_at: 'created_at',
  updated_at: 'updated_at',
  name: 'name',
  priority: 'priority',
} as const;

const MAX_WRITE_ATTEMPTS = 5;

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

/** The version an If-Match header names, or undefined for none / `*`. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!match) throw new HttpProblem('validation_failed', 'If-Match must be an ETag this API sent, like "3".', [{ pointer: '/header/if-match', message: 'is not an ETag' }]);
  return Number(match[1]);
}

export class ConnectionsService {
  private readonly validators: Map<string, ProviderValidators>;

  constructor(
    private readonly db: Db,
    private readonly catalog: ProviderCatalog,
    private readonly cipher: CredentialCipher,
  ) {
    this.validators = compileProviderValidators(catalog.all());
  }

  // ---- reads -------------------------------------------------------------------------

  /** One indexed query by primary key, scoped to the tenant. */
  async get(caller: Pick<Caller, 'tenantId'>, id: string): Promise<ConnectionResult> {
    const row = await this.db.selectFrom('connections').selectAll().where('id', '=', id).where('tenant_id', '=', caller.tenantId).executeTakeFirst();
    if (!row) throw notFound(id);
    return { connection: toApiConnection(row), etag: etagOf(row.version) };
  }

  /** The enabled, active connection of highest priority; ties: oldest, then smallest id. */
  async getDefault(caller: Pick<Caller, 'tenantId'>, provider: string, environment: Environment): Promise<ConnectionResult> {
    if (!this.catalog.get(provider)) throw new HttpProblem('not_found', `No provider with slug '${provider}'.`);
    const row = await this.db
      .selectFrom('connections')
      .selectAll()
      .where('tenant_id', '=', caller.tenantId)
      .where('provider', '=', provider)
      .where('environment', '=', environment)
      .where('enabled', '=', true)
      .where('status', '=', 'active')
      .orderBy('priority', 'desc')
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(1)
      .executeTakeFirst();
    if (!row) throw new HttpProblem('not_found', `No enabled, active ${provider} connection in ${environment}.`);
    return { connection: toApiConnection(row), etag: etagOf(row.version) };
  }

  /** One query per page (keyset on the sort column and id), plus one count when asked. */
  async list(caller: Pick<Caller, 'tenantId'>, query: ListConnectionsQuery): Promise<{ data: ApiConnection[]; next_cursor: string | null; total_count?: number }> {
    const sortParam = query.sort ?? '-created_at';
    const descending = sortParam.startsWith('-');
    const column = SORTS[sortParam.replace(/^-/, '') as keyof typeof SORTS];
    const limit = query.limit ?? 50;
    const filterKey = JSON.stringify([query.provider, query.status, query.environment, query.enabled, query.tag, query.q, query.linked_object_type, query.linked_object_id, sortParam]);

    let after: { v: unknown; id: string } | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, 'connections');
      if (!position || position.f !== filterKey || typeof position.id !== 'string') {
        throw invalidCursor('The cursor does not belong to this list with these filters and this sort.');
      }
      after = { v: position.v, id: position.id };
    }

    let base = this.db.selectFrom('connections').where('tenant_id', '=', caller.tenantId);
    if (query.provider !== undefined) base = base.where('provider', '=', query.provider);
    if (query.status?.length) base = base.where('status', 'in', query.status);
    else base = base.where('status', '!=', 'archived');
    if (query.environment !== undefined) base = base.where('environment', '=', query.environment);
    if (query.enabled !== undefined) base = base.where('enabled', '=', query.enabled);
    if (query.tag?.length) base = base.where(sql<boolean>`tags @> ${sql.val(query.tag)}::text[]`);
    if (query.q !== undefined) {
      const pattern = `%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('reference', 'ilike', pattern)]));
    }
    if (query.linked_object_type !== undefined || query.linked_object_id !== undefined) {
      const probe: Record<string, string> = {};
      if (query.linked_object_type !== undefined) probe.object_type = query.linked_object_type;
      if (query.linked_object_id !== undefined) probe.object_id = query.linked_object_id;
      base = base.where(sql<boolean>`linked_resources @> ${JSON.stringify([probe])}::jsonb`);
    }

    let page = base.selectAll();
    if (after) {
      const value = column === 'created_at' || column === 'updated_at' ? new Date(String(after.v)) : after.v;
      page = page.where(sql<boolean>`(${sql.ref(column)}, id) ${sql.raw(descending ? '<' : '>')} (${value}, ${after.id})`);
    }
    page = page
      .orderBy(column, descending ? 'desc' : 'asc')
      .orderBy('id', descending ? 'desc' : 'asc')
      .limit(limit + 1);

    const [rows, total] = await Promise.all([
      page.execute(),
      query.include_total ? base.select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow() : Promise.resolve(undefined),
    ]);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    const next_cursor =
      rows.length > limit && last
        ? encodeCursor('connections', { f: filterKey, v: last[column] instanceof Date ? (last[column] as Date).toISOString() : last[column], id: last.id })
        : null;
    return { data: data.map(toApiConnection), next_cursor, ...(total ? { total_count: Number(total.count) } : {}) };
  }

  async listEvents(caller: Pick<Caller, 'tenantId'>, connectionId: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiConnectionEvent[]; next_cursor: string | null }> {
    const exists = await this.db.selectFrom('connections').select('id').where('id', '=', connectionId).where('tenant_id', '=', caller.tenantId).executeTakeFirst();
    if (!exists) throw notFound(connectionId);
    const limit = query.limit ?? 50;
    let q = this.db.selectFrom('connection_events').selectAll().where('connection_id', '=', connectionId);
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, `events:${connectionId}`);
      if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') {
        throw invalidCursor();
      }
      q = q.where(sql<boolean>`(occurred_at, id) < (${new Date(position.at)}, ${position.id})`);
    }
    const rows = await q.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return {
      data: data.map(toApiEvent),
      next_cursor: rows.length > limit && last ? encodeCursor(`events:${connectionId}`, { at: new Date(last.occurred_at).toISOString(), id: last.id }) : null,
    };
  }

  // ---- writes ------------------------------------------------------------------------

  async create(caller: Caller, provider: string, draft: ConnectionDraft, credentials: PlainCredentials): Promise<ConnectionResult> {
    const spec = this.provider(provider, '/provider');
    const errors = [...this.checkDraft(spec, draft), ...this.checkCredentials(spec.slug, credentials, 'partial')];
    if (errors.length) throw validationProblem(errors);

    const id = newId('conn');
    const now = new Date();
    const sealed = this.seal(caller.tenantId, id, credentials);
    const status = settleStatus('active', this.credentialsComplete(spec.slug, credentials));
    const summary = this.summarise(caller.tenantId, credentials, {}, now);
    // A unique violation aborts the transaction, so the holder of the reference is looked up
    // after it has rolled back (querying inside it was a 500 "transaction is aborted", and on
    // PGlite's single connection a query outside it would wait for it forever).
    try {
      return await this.createInTransaction(caller, id, spec, draft, status, sealed, summary, credentials, now);
    } catch (error) {
      if (isUniqueViolation(error)) throw await this.referenceConflict(this.db, caller.tenantId, draft);
      throw error;
    }
  }

  private async createInTransaction(
    caller: Caller,
    id: string,
    spec: Provider,
    draft: ConnectionDraft,
    status: ConnectionStatus,
    sealed: ReturnType<ConnectionsService['seal']>,
    summary: Record<string, CredentialFieldSummaryRow>,
    credentials: PlainCredentials,
    now: Date,
  ): Promise<ConnectionResult> {
    return this.db.transaction().execute(async (tx) => {
      const row: ConnectionRow = await tx
          .insertInto('connections')
          .values({
            id,
            tenant_id: caller.tenantId,
            provider: spec.slug,
            ...this.draftColumns(draft),
            status,
            ...sealed,
            credentials_summary: JSON.stringify(summary),
            last_sync_at: null,
            last_error: JSON.stringify(null),
            archived_at: null,
            created_at: now,
            created_by: JSON.stringify(caller.actor),
            updated_at: now,
            updated_by: JSON.stringify(caller.actor),
            version: 1,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      const changed = [...Object.keys(draft).filter((k) => k !== 'status_message'), ...Object.keys(credentials).map((k) => `credentials.${k}`)].sort();
      await this.appendEvent(tx, caller, row.id, 'created', changed, null, status, now);
      return { connection: toApiConnection(row), etag: etagOf(row.version) };
    });
  }

  /**
   * Applies `change` to the current row and writes it if the row has not moved meanwhile.
   * With If-Match, a moved row is a 412; without, the change is re-applied to the fresh row
   * (a merge patch or a replace means the same thing on any version), so no update is lost.
   */
  private async write(
    caller: Caller,
    id: string,
    ifMatch: number | undefined,
    change: (row: ConnectionRow) => { columns: Partial<Record<string, unknown>>; action: ApiConnectionEvent['action']; changed: string[]; statusTo?: ConnectionStatus },
  ): Promise<ConnectionResult> {
    // Fix: the row is read FOR UPDATE inside the write's transaction, so racing writers
    // without If-Match queue up on the row instead of giving up with a 412 after
    // MAX_WRITE_ATTEMPTS optimistic retries (10 parallel PATCHes used to get 412s).
    let conflict: { reference: string | null; environment: Environment } | undefined;
    try {
      return await this.db.transaction().execute(async (tx) => {
        const current = await tx.selectFrom('connections').selectAll().where('id', '=', id).where('tenant_id', '=', caller.tenantId).forUpdate().executeTakeFirst();
        if (!current) throw notFound(id);
        if (ifMatch !== undefined && ifMatch !== current.version) throw versionMismatch(ifMatch, current.version);
        if (current.status === 'archived') throw new HttpProblem('conflict', `Connection ${id} is archived and can no longer change.`, undefined, { allowed_transitions: [] });
        const { columns, action, changed, statusTo } = change(current);
        if (changed.length === 0) return { connection: toApiConnection(current), etag: etagOf(current.version) };
        const now = new Date();
        conflict = { reference: (columns.reference as string | null | undefined) ?? current.reference, environment: (columns.environment as Environment | undefined) ?? current.environment };
        const row = await tx
          .updateTable('connections')
          .set({ ...columns, updated_at: now, updated_by: JSON.stringify(caller.actor), version: current.version + 1 })
          .where('id', '=', id)
          .where('tenant_id', '=', caller.tenantId)
          .where('version', '=', current.version)
          .returningAll()
          .executeTakeFirstOrThrow();
        const statusFrom = statusTo !== undefined && statusTo !== current.status ? current.status : null;
        await this.appendEvent(tx, caller, id, statusFrom && action === 'updated' && changed.every((f) => f === 'status' || f === 'status_message') ? 'status_changed' : action, changed, statusFrom, statusFrom ? statusTo! : null, now);
        return { connection: toApiConnection(row), etag: etagOf(row.version) };
      });
    } catch (error) {
      // Fix: a unique violation aborts the transaction; the holder of the reference is looked
      // up after the rollback (inside it, the lookup itself failed and the client got a 500).
      if (conflict && isUniqueViolation(error)) throw await this.referenceConflict(this.db, caller.tenantId, conflict);
      throw error;
    }
  }

  /** PATCH (merge patch) and the update half of an upsert: members left out keep their value. */
  async update(caller: Caller, id: string, patch: Record<string, unknown>, ifMatch: number | undefined, action: 'updated' | 'replaced' = 'updated'): Promise<ConnectionResult> {
    return this.write(caller, id, ifMatch, (row) => {
      const spec = this.provider(row.provider, '/provider');
      const before = this.draftOf(row);
      const draft: ConnectionDraft = { ...before };
      for (const key of ['reference', 'name', 'description', 'environment', 'enabled', 'priority', 'status_message'] as const) {
        if (key in patch) (draft as unknown as Record<string, unknown>)[key] = patch[key] ?? (key === 'reference' || key === 'description' || key === 'status_message' ? null : before[key]);
      }
      for (const key of ['settings', 'sync_config', 'metadata'] as const) {
        if (key in patch) (draft as unknown as Record<string, unknown>)[key] = patch[key] === null ? {} : mergePatch(before[key], patch[key]);
      }
      if ('tags' in patch) draft.tags = (patch.tags as string[] | null) ?? [];
      if ('linked_resources' in patch) draft.linked_resources = normaliseLinks((patch.linked_resources as LinkedResourceRow[] | null) ?? []);

      let credentials: PlainCredentials | undefined;
      const errors = this.checkDraft(spec, draft);
      if ('credentials' in patch) {
        credentials = patch.credentials === null ? {} : mergePatch(this.open(row), patch.credentials);
        errors.push(...this.checkCredentials(spec.slug, credentials, 'partial'));
      }
      const requested = patch.status as ConnectionStatus | undefined;
      if (requested !== undefined && !canRequest(row.status, requested)) throw transitionConflict(row.status, requested);
      if (errors.length) throw validationProblem(errors);
      return this.changeSet(row, before, draft, credentials, requested, action);
    });
  }

  /** PUT: every member replaced; those left out take their defaults, credentials are kept unless given. */
  async replace(caller: Caller, id: string, body: Record<string, unknown>, ifMatch: number | undefined): Promise<ConnectionResult> {
    return this.write(caller, id, ifMatch, (row) => {
      if (body.provider !== undefined && body.provider !== row.provider) {
        throw validationProblem([{ pointer: '/provider', message: `cannot change: this is a ${row.provider} connection` }]);
      }
      const spec = this.provider(row.provider, '/provider');
      const before = this.draftOf(row);
      const draft = draftFromBody(body, spec);
      const errors = this.checkDraft(spec, draft);
      let credentials: PlainCredentials | undefined;
      if (body.credentials !== undefined) {
        credentials = body.credentials as PlainCredentials;
        errors.push(...this.checkCredentials(spec.slug, credentials, 'partial'));
      }
      const requested = body.status as ConnectionStatus | undefined;
      if (requested !== undefined && !canRequest(row.status, requested)) throw transitionConflict(row.status, requested);
      if (errors.length) throw validationProblem(errors);
      return this.changeSet(row, before, draft, credentials, requested, 'replaced');
    });
  }

  /** PUT .../credentials: every secret field at once, validated with the required ones. */
  async replaceCredentials(caller: Caller, id: string, credentials: PlainCredentials, ifMatch: number | undefined): Promise<ConnectionResult> {
    return this.write(caller, id, ifMatch, (row) => {
      const errors = this.checkCredentials(row.provider, credentials, 'full');
      if (errors.length) throw validationProblem(errors);
      const before = this.draftOf(row);
      const result = this.changeSet(row, before, before, credentials, undefined, 'credentials_replaced');
      // Rotating to the same values is still a rotation the audit trail should show.
      if (result.changed.length === 0) result.changed = Object.keys(credentials).map((k) => `credentials.${k}`).sort();
      return result;
    });
  }

  /** DELETE: archive. The row stays for audit; its credentials are destroyed. */
  async archive(caller: Caller, id: string, ifMatch: number | undefined): Promise<ConnectionResult> {
    const current = await this.db.selectFrom('connections').selectAll().where('id', '=', id).where('tenant_id', '=', caller.tenantId).executeTakeFirst();
    if (!current) throw notFound(id);
    if (ifMatch !== undefined && ifMatch !== current.version) throw versionMismatch(ifMatch, current.version);
    if (current.status === 'archived') return { connection: toApiConnection(current), etag: etagOf(current.version) };
    const now = new Date();
    const row = await this.db.transaction().execute(async (tx) => {
      const updated = await tx
        .updateTable('connections')
        .set({
          status: 'archived',
          enabled: false,
          archived_at: now,
          credentials_ciphertext: null,
          credentials_key: null,
          credentials_key_version: null,
          credentials_summary: JSON.stringify({}),
          updated_at: now,
          updated_by: JSON.stringify(caller.actor),
          version: current.version + 1,
        })
        .where('id', '=', id)
        .where('version', '=', current.version)
        .returningAll()
        .executeTakeFirst();
      if (!updated) throw versionMismatch(current.version, current.version + 1);
      const changed = ['status', 'enabled', 'archived_at', ...Object.keys(current.credentials_summary).map((k) => `credentials.${k}`)];
      await this.appendEvent(tx, caller, id, 'archived', changed, current.status, 'archived', now);
      return updated;
    });
    return { connection: toApiConnection(row), etag: etagOf(row.version) };
  }

  /** PUT /v1/providers/{slug}/connections/{reference}: create, or update what is given. */
  async upsert(caller: Caller, provider: string, reference: string, body: Record<string, unknown>, ifMatch: number | undefined): Promise<ConnectionResult & { created: boolean }> {
    const spec = this.catalog.get(provider);
    if (!spec) throw new HttpProblem('not_found', `No provider with slug '${provider}'.`);
    const environment = (body.environment as Environment | undefined) ?? 'production';
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const existing = await this.db
        .selectFrom('connections')
        .select(['id', 'provider'])
        .where('tenant_id', '=', caller.tenantId)
        .where('environment', '=', environment)
        .where('reference', '=', reference)
        .where('archived_at', 'is', null)
        .executeTakeFirst();
      if (existing) {
        if (existing.provider !== provider) {
          throw new HttpProblem('conflict', `Reference '${reference}' is used by a ${existing.provider} connection in ${environment}.`, [{ pointer: '/path/reference', message: `is used by ${existing.id}` }]);
        }
        return { ...(await this.update(caller, existing.id, body, ifMatch)), created: false };
      }
      if (ifMatch !== undefined) throw new HttpProblem('version_mismatch', `No connection with reference '${reference}' exists yet, so If-Match cannot match.`, undefined, { current_version: null });
      const { status: requested, ...rest } = body;
      const draft = draftFromBody({ name: spec.name, ...rest, reference, environment }, spec);
      try {
        const created = await this.create(caller, provider, draft, (body.credentials as PlainCredentials | undefined) ?? {});
        if (requested === 'disabled') return { ...(await this.update(caller, created.connection.id, { status: 'disabled' }, undefined)), created: true };
        return { ...created, created: true };
      } catch (error) {
        // Another request created it between our read and our insert: update that one instead.
        if (error instanceof HttpProblem && error.code === 'conflict' && attempt < MAX_WRITE_ATTEMPTS) continue;
        throw error;
      }
    }
    throw new HttpProblem('conflict', `Reference '${reference}' is being written by other requests; retry.`);
  }

  /** A sync worker's report: records the run and moves the connection's health. */
  async reportSyncRun(caller: Caller, id: string, report: SyncRunReport): Promise<ApiSyncRun> {
    const now = new Date();
    const runError = report.error ? { code: report.error.code ?? null, message: report.error.message, occurred_at: (report.finished_at ? new Date(report.finished_at) : now).toISOString() } : null;
    return this.db.transaction().execute(async (tx) => {
      // One read, locked: concurrent reports count failures one by one, and the checks below
      // see the same row the update writes (an archive cannot slip in between).
      const row = await tx.selectFrom('connections').selectAll().where('id', '=', id).where('tenant_id', '=', caller.tenantId).forUpdate().executeTakeFirst();
      if (!row) throw notFound(id);
      const errors: FieldError[] = [];
      if (report.outcome === 'failed' && !report.error) errors.push({ pointer: '/error', message: 'is required when the outcome is failed' });
      if (report.entity !== undefined) {
        const directions = this.validators.get(row.provider)?.entities.get(report.entity);
        if (!directions) errors.push({ pointer: '/entity', message: `is not an entity ${row.provider} syncs` });
        else if (report.direction !== undefined && !directions.has(report.direction)) errors.push({ pointer: '/direction', message: `${row.provider} does not sync ${report.entity} ${report.direction}` });
      }
      if (errors.length) throw validationProblem(errors);
      if (row.status === 'archived') throw new HttpProblem('conflict', `Connection ${id} is archived; it cannot record sync runs.`);

      const succeeded = report.outcome === 'succeeded';
      const failures = succeeded ? 0 : row.consecutive_failures + 1;
      let status = row.status;
      if (succeeded && status === 'error') status = 'active';
      if (!succeeded && status === 'active' && failures >= FAILURES_BEFORE_ERROR) status = 'error';
      const updated = await tx
        .updateTable('connections')
        .set({
          consecutive_failures: failures,
          status,
          status_message: status !== row.status ? (succeeded ? null : `${failures} sync runs failed in a row`) : row.status_message,
          ...(succeeded ? { last_sync_at: report.finished_at ? new Date(report.finished_at) : now, last_error: JSON.stringify(null) } : { last_error: JSON.stringify(runError) }),
          updated_at: now,
          updated_by: JSON.stringify(caller.actor),
          version: row.version + 1,
        })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const run = await tx
        .insertInto('sync_runs')
        .values({
          id: newId('run'),
          tenant_id: caller.tenantId,
          connection_id: id,
          outcome: report.outcome,
          entity: report.entity ?? null,
          direction: report.direction ?? null,
          started_at: report.started_at ? new Date(report.started_at) : null,
          finished_at: report.finished_at ? new Date(report.finished_at) : null,
          records_processed: report.records_processed ?? null,
          records_failed: report.records_failed ?? null,
          error: JSON.stringify(runError),
          recorded_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const changed = succeeded ? ['last_sync_at', 'last_error', 'consecutive_failures'] : ['last_error', 'consecutive_failures'];
      if (status !== row.status) changed.push('status', 'status_message');
      await this.appendEvent(tx, caller, id, succeeded ? 'sync_succeeded' : 'sync_failed', changed.sort(), status !== row.status ? row.status : null, status !== row.status ? status : null, now);
      return toApiSyncRun(run, updated);
    });
  }

  // ---- helpers -----------------------------------------------------------------------

  private provider(slug: string, pointer: string): Provider {
    const provider = this.catalog.get(slug);
    if (!provider) throw validationProblem([{ pointer, message: `is not a provider in the catalog (see GET /v1/providers)` }]);
    return provider;
  }

  private checkDraft(provider: Provider, draft: ConnectionDraft): FieldError[] {
    const validators = this.validators.get(provider.slug)!;
    const errors: FieldError[] = [];
    if (!validators.settings(draft.settings)) errors.push(...toFieldErrors(validators.settings.errors, '/settings'));
    const supported = [...validators.entities.keys()];
    for (const [entity, directions] of Object.entries(draft.sync_config)) {
      const offered = validators.entities.get(entity);
      if (!offered) {
        errors.push({ pointer: `/sync_config/${entity}`, message: `is not an entity ${provider.slug} syncs (${supported.join(', ') || 'none'})` });
        continue;
      }
      for (const direction of ['inbound', 'outbound'] as const) {
        if (directions[direction] && !offered.has(direction)) errors.push({ pointer: `/sync_config/${entity}/${direction}`, message: `${provider.slug} does not sync ${entity} ${direction}` });
      }
    }
    const seen = new Set<string>();
    draft.linked_resources.forEach((link, index) => {
      const key = `${link.object_type}\u0000${link.object_id}`;
      if (seen.has(key)) errors.push({ pointer: `/linked_resources/${index}`, message: `links ${link.object_type} ${link.object_id} twice` });
      seen.add(key);
    });
    return errors;
  }

  private checkCredentials(provider: string, credentials: PlainCredentials, mode: 'full' | 'partial'): FieldError[] {
    const validators = this.validators.get(provider)!;
    const validate = mode === 'full' ? validators.credentials : validators.partialCredentials;
    return validate(credentials) ? [] : toFieldErrors(validate.errors, '/credentials');
  }

  private credentialsComplete(provider: string, credentials: PlainCredentials): boolean {
    return this.validators.get(provider)!.requiredCredentials.every((name) => typeof credentials[name] === 'string' && credentials[name] !== '');
  }

  private seal(tenantId: string, connectionId: string, credentials: PlainCredentials) {
    if (Object.keys(credentials).length === 0) return { credentials_ciphertext: null, credentials_key: null, credentials_key_version: null };
    const sealed = this.cipher.encrypt(credentials, { tenantId, connectionId });
    return { credentials_ciphertext: sealed.ciphertext, credentials_key: sealed.wrappedKey, credentials_key_version: sealed.keyVersion };
  }

  private open(row: ConnectionRow): PlainCredentials {
    if (!row.credentials_ciphertext || !row.credentials_key || row.credentials_key_version === null) return {};
    return this.cipher.decrypt(
      { ciphertext: Buffer.from(row.credentials_ciphertext), wrappedKey: Buffer.from(row.credentials_key), keyVersion: row.credentials_key_version },
      { tenantId: row.tenant_id, connectionId: row.id },
    );
  }

  /** Per field: set, last 4 (values of 12+ characters only), fingerprint, and when it last changed. */
  private summarise(tenantId: string, credentials: PlainCredentials, previous: Record<string, CredentialFieldSummaryRow>, now: Date): Record<string, CredentialFieldSummaryRow> {
    return Object.fromEntries(
      Object.entries(credentials).map(([name, value]) => {
        const fingerprint = this.cipher.fingerprint(value, tenantId);
        const unchanged = previous[name]?.fingerprint === fingerprint;
        return [name, { set: true, last4: value.length >= 12 ? value.slice(-4) : null, fingerprint, updated_at: unchanged ? previous[name]!.updated_at : now.toISOString() }];
      }),
    );
  }

  private draftOf(row: ConnectionRow): ConnectionDraft {
    return {
      reference: row.reference,
      name: row.name,
      description: row.description,
      environment: row.environment,
      enabled: row.enabled,
      priority: row.priority,
      settings: row.settings,
      sync_config: row.sync_config,
      metadata: row.metadata,
      tags: row.tags,
      linked_resources: row.linked_resources,
      status_message: row.status_message,
    };
  }

  private draftColumns(draft: ConnectionDraft) {
    return {
      reference: draft.reference,
      name: draft.name,
      description: draft.description,
      environment: draft.environment,
      enabled: draft.enabled,
      priority: draft.priority,
      status_message: draft.status_message,
      settings: JSON.stringify(draft.settings),
      sync_config: JSON.stringify(draft.sync_config),
      metadata: JSON.stringify(draft.metadata),
      tags: draft.tags,
      linked_resources: JSON.stringify(draft.linked_resources),
    };
  }

  /** The columns to write and the names of what changed, from the row and the new draft. */
  private changeSet(row: ConnectionRow, before: ConnectionDraft, draft: ConnectionDraft, credentials: PlainCredentials | undefined, requested: ConnectionStatus | undefined, action: ApiConnectionEvent['action']) {
    const now = new Date();
    const changed: string[] = [];
    for (const key of ['reference', 'name', 'description', 'environment', 'enabled', 'priority', 'tags', 'linked_resources', 'status_message'] as const) {
      if (JSON.stringify(before[key]) !== JSON.stringify(draft[key])) changed.push(key);
    }
    for (const key of ['settings', 'sync_config', 'metadata'] as const) changed.push(...changedKeys(key, before[key], draft[key]));

    let credentialColumns = {};
    let complete = this.credentialsComplete(row.provider, credentials ?? this.presentFields(row));
    if (credentials !== undefined) {
      const summary = this.summarise(row.tenant_id, credentials, row.credentials_summary, now);
      const fields = new Set([...Object.keys(summary), ...Object.keys(row.credentials_summary)]);
      const credentialChanges = [...fields].filter((f) => summary[f]?.fingerprint !== row.credentials_summary[f]?.fingerprint).map((f) => `credentials.${f}`);
      if (credentialChanges.length > 0) {
        changed.push(...credentialChanges.sort());
        credentialColumns = { ...this.seal(row.tenant_id, row.id, credentials), credentials_summary: JSON.stringify(summary) };
      }
      complete = this.credentialsComplete(row.provider, credentials);
    }
    const status = settleStatus(requested ?? row.status, complete);
    if (status !== row.status) changed.push('status');
    return {
      columns: { ...this.draftColumns(draft), ...credentialColumns, status },
      action,
      changed,
      statusTo: status,
    };
  }

  /** The credential fields a row holds, without decrypting them (their summary says which). */
  private presentFields(row: ConnectionRow): PlainCredentials {
    return Object.fromEntries(Object.keys(row.credentials_summary).map((k) => [k, 'set']));
  }

  private async appendEvent(tx: Tx, caller: Caller, connectionId: string, action: ApiConnectionEvent['action'], changed: string[], statusFrom: ConnectionStatus | null, statusTo: ConnectionStatus | null, at: Date): Promise<void> {
    await tx
      .insertInto('connection_events')
      .values({
        id: newId('evt'),
        tenant_id: caller.tenantId,
        connection_id: connectionId,
        action,
        actor: JSON.stringify(caller.actor),
        changed_fields: changed,
        status_from: statusFrom,
        status_to: statusTo,
        request_id: caller.requestId,
        occurred_at: at,
      })
      .execute();
  }

  private async referenceConflict(tx: Db, tenantId: string, draft: { reference: string | null; environment: Environment }): Promise<HttpProblem> {
    const holder = draft.reference
      ? await tx.selectFrom('connections').select('id').where('tenant_id', '=', tenantId).where('environment', '=', draft.environment).where('reference', '=', draft.reference).where('archived_at', 'is', null).executeTakeFirst()
      : undefined;
    return new HttpProblem('conflict', `A connection with reference '${draft.reference}' already exists in ${draft.environment}.`, [
      { pointer: '/reference', message: `is already used${holder ? ` by ${holder.id}` : ''}` },
    ]);
  }
}

/** A draft from a full body (create, replace): what is left out takes its default. */
export function draftFromBody(body: Record<string, unknown>, provider: Pick<Provider, 'name'>): ConnectionDraft {
  return {
    reference: (body.reference as string | null | undefined) ?? null,
    name: (body.name as string | undefined) ?? provider.name,
    description: (body.description as string | null | undefined) ?? null,
    environment: (body.environment as Environment | undefined) ?? 'production',
    enabled: (body.enabled as boolean | undefined) ?? true,
    priority: (body.priority as number | undefined) ?? 0,
    settings: (body.settings as Record<string, unknown> | undefined) ?? {},
    sync_config: (body.sync_config as ConnectionDraft['sync_config'] | undefined) ?? {},
    metadata: (body.metadata as Record<string, string> | undefined) ?? {},
    tags: (body.tags as string[] | undefined) ?? [],
    linked_resources: normaliseLinks((body.linked_resources as LinkedResourceRow[] | undefined) ?? []),
    status_message: (body.status_message as string | null | undefined) ?? null,
  };
}

function normaliseLinks(links: Partial<LinkedResourceRow>[]): LinkedResourceRow[] {
  return links.map((l) => ({ object_type: l.object_type!, object_id: l.object_id!, status: l.status ?? 'active', status_message: l.status_message ?? null }));
}

const notFound = (id: string) => new HttpProblem('not_found', `No connection ${id} in this tenant.`);

const versionMismatch = (expected: number, current: number) =>
  new HttpProblem('version_mismatch', `If-Match is "${expected}" but the connection is at version ${current}; read it again and retry.`, undefined, { current_version: current });

function transitionConflict(from: ConnectionStatus, to: ConnectionStatus): HttpProblem {
  const allowed = REQUESTABLE_TRANSITIONS[from];
  return new HttpProblem('conflict', `A ${from} connection cannot be set to ${to}${allowed.length ? `; allowed: ${allowed.join(', ')}` : ''}.`, [{ pointer: '/status', message: `cannot go from ${from} to ${to}` }], {
    allowed_transitions: allowed,
  });
}
