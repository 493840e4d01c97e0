/**
 * Every query of the connections feature, and the only place its credentials are sealed and
 * opened: plaintext credentials go in and come out here, ciphertext never leaves. The
 * service calls `transaction()` to run a use case's reads and writes as one unit.
 */
import { sql, type Kysely } from 'kysely';
import { UndecryptableError, type CredentialCipher } from '../../platform/crypto/envelope.js';
import { credentialsUndecryptable } from './errors.js';
import type { ActorRow, Database, LastErrorRow } from '../../platform/db/schema.js';
import { transaction } from '../../platform/db/after-commit.js';
import { newId } from '../../platform/ids.js';
import type { ConnectionDraft } from './drafts.js';
import type { ConnectionEventRow, ConnectionRow, SyncRunRow } from './format.js';
import type { ConnectionChanges } from './changes.js';
import { last4Of } from './hints.js';
import type { ApiConnectionEvent, Caller, ConnectionStatus, CredentialSummary, Environment, PlainCredentials } from './types.js';

/** The filters of a list, already checked. */
export interface ConnectionFilter {
  provider?: string;
  status?: ConnectionStatus[];
  environment?: Environment;
  enabled?: boolean;
  tag?: string[];
  q?: string;
  linked_object_type?: string;
  linked_object_id?: string;
}

export type SortColumn = 'created_at' | 'updated_at' | 'name' | 'priority';

export interface PageRequest {
  column: SortColumn;
  descending: boolean;
  /** The keyset position of the last row of the previous page. */
  after?: { value: unknown; id: string };
  limit: number;
  /** Count the matches, reading at most `cap` + 1 rows; undefined: no count. */
  total?: { cap: number };
}

/** How many rows match, exactly up to the cap; `capped` when there are more (count is then the cap). */
export interface CappedCount {
  count: number;
  capped: boolean;
}

export interface NewEvent {
  connectionId: string;
  action: ApiConnectionEvent['action'];
  changed: string[];
  statusFrom: ConnectionStatus | null;
  statusTo: ConnectionStatus | null;
  at: Date;
}

export interface SyncHealth {
  consecutive_failures: number;
  status: ConnectionStatus;
  status_message: string | null;
  last_sync_at?: Date;
  last_error: LastErrorRow | null;
}

export interface NewSyncRun {
  outcome: 'succeeded' | 'failed';
  entity: string | null;
  direction: 'inbound' | 'outbound' | null;
  started_at: Date | null;
  finished_at: Date | null;
  records_processed: number | null;
  records_failed: number | null;
  error: LastErrorRow | null;
}

/** A write hit the unique (tenant, environment, reference) index. */
export function isReferenceTaken(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}

const json = (value: unknown): string => JSON.stringify(value);

/** Called with each event, inside the transaction that writes it: the audit trail's hook
 * (see ConnectionsService), so an audit entry commits or rolls back with its change. */
export type EventObserver = (tx: Kysely<Database>, caller: Caller, event: NewEvent) => Promise<void>;

export class ConnectionsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly cipher: CredentialCipher,
    private readonly onEvent?: EventObserver,
  ) {}

  /** Runs `work` in one transaction, with a repository bound to it. A repository already bound
   * to a transaction (ConnectionsService.transaction: several writes as one unit) runs it in
   * that one: it commits or rolls back with the outer work. */
  transaction<T>(work: (repository: ConnectionsRepository) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    // Through platform/db/after-commit: an observer may ask for work after the commit (the
    // webhooks outbox wakes its delivery worker).
    return transaction(this.db, (tx) => work(new ConnectionsRepository(tx, this.cipher, this.onEvent)));
  }

  /** The database or transaction this repository runs on. */
  get executor(): Kysely<Database> {
    return this.db;
  }

  // ---- reads -------------------------------------------------------------------------

  /** One indexed query by primary key, scoped to the tenant; `forUpdate` locks the row. */
  async find(tenantId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<ConnectionRow | undefined> {
    const query = this.db.selectFrom('connections').selectAll().where('id', '=', id).where('tenant_id', '=', tenantId);
    return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
  }

  async exists(tenantId: string, id: string): Promise<boolean> {
    return (await this.db.selectFrom('connections').select('id').where('id', '=', id).where('tenant_id', '=', tenantId).executeTakeFirst()) !== undefined;
  }

  /** The enabled, active connection of highest priority; ties: oldest, then smallest id. */
  findDefault(tenantId: string, provider: string, environment: Environment): Promise<ConnectionRow | undefined> {
    return this.db
      .selectFrom('connections')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('provider', '=', provider)
      .where('environment', '=', environment)
      .where('enabled', '=', true)
      .where('status', '=', 'active')
      .orderBy('priority', 'desc')
      .orderBy('created_at', 'asc')
      .orderBy('id', 'asc')
      .limit(1)
      .executeTakeFirst();
  }

  /** The live connection holding a reference in an environment. */
  findByReference(tenantId: string, environment: Environment, reference: string): Promise<Pick<ConnectionRow, 'id' | 'provider'> | undefined> {
    return this.db
      .selectFrom('connections')
      .select(['id', 'provider'])
      .where('tenant_id', '=', tenantId)
      .where('environment', '=', environment)
      .where('reference', '=', reference)
      .where('archived_at', 'is', null)
      .executeTakeFirst();
  }

  /** One query per page (keyset on the sort column and id, one row more than asked), plus one
   * capped count when asked. The search q= is served by the trigram indexes (migration 10). */
  async list(tenantId: string, filter: ConnectionFilter, page: PageRequest): Promise<{ rows: ConnectionRow[]; total?: CappedCount }> {
    let base = this.db.selectFrom('connections').where('tenant_id', '=', tenantId);
    if (filter.provider !== undefined) base = base.where('provider', '=', filter.provider);
    if (filter.status?.length) base = base.where('status', 'in', filter.status);
    else base = base.where('status', '!=', 'archived');
    if (filter.environment !== undefined) base = base.where('environment', '=', filter.environment);
    if (filter.enabled !== undefined) base = base.where('enabled', '=', filter.enabled);
    if (filter.tag?.length) base = base.where(sql<boolean>`tags @> ${sql.val(filter.tag)}::text[]`);
    if (filter.q !== undefined) {
      const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) => eb.or([eb('name', 'ilike', pattern), eb('reference', 'ilike', pattern)]));
    }
    if (filter.linked_object_type !== undefined || filter.linked_object_id !== undefined) {
      const probe: Record<string, string> = {};
      if (filter.linked_object_type !== undefined) probe.object_type = filter.linked_object_type;
      if (filter.linked_object_id !== undefined) probe.object_id = filter.linked_object_id;
      base = base.where(sql<boolean>`linked_resources @> ${json([probe])}::jsonb`);
    }

    const { column, descending, after, limit } = page;
    let query = base.selectAll();
    if (after) {
      const value = column === 'created_at' || column === 'updated_at' ? new Date(String(after.value)) : after.value;
      query = query.where(sql<boolean>`(${sql.ref(column)}, id) ${sql.raw(descending ? '<' : '>')} (${value}, ${after.id})`);
    }
    query = query
      .orderBy(column, descending ? 'desc' : 'asc')
      .orderBy('id', descending ? 'desc' : 'asc')
      .limit(limit + 1);

    // The count reads at most cap + 1 rows, in the page's own index order: a count of every
    // match was a scan of the tenant's rows per request (3.4 s at 100,000, issue 13). Without
    // the ORDER BY the planner may take a sequential scan that stops after cap + 1 rows only
    // when the tenant's rows happen to come first in the table.
    const counting = page.total
      ? this.db
          .selectFrom(
            base
              .select(sql.lit(1).as('one'))
              .orderBy(column, descending ? 'desc' : 'asc')
              .orderBy('id', descending ? 'desc' : 'asc')
              .limit(page.total.cap + 1)
              .as('matches'),
          )
          .select((eb) => eb.fn.countAll<string>().as('count'))
          .executeTakeFirstOrThrow()
      : Promise.resolve(undefined);
    const [rows, counted] = await Promise.all([query.execute(), counting]);
    if (!counted || !page.total) return { rows };
    const count = Number(counted.count);
    return { rows, total: { count: Math.min(count, page.total.cap), capped: count > page.total.cap } };
  }

  /** Newest first, keyset on (occurred_at, id), one row more than asked. */
  listEvents(connectionId: string, before: { at: Date; id: string } | undefined, limit: number): Promise<ConnectionEventRow[]> {
    let query = this.db.selectFrom('connection_events').selectAll().where('connection_id', '=', connectionId);
    if (before) query = query.where(sql<boolean>`(occurred_at, id) < (${before.at}, ${before.id})`);
    return query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
  }

  // ---- writes ------------------------------------------------------------------------

  insert(caller: Caller, id: string, provider: string, changes: Required<ConnectionChanges>, now: Date): Promise<ConnectionRow> {
    return this.db
      .insertInto('connections')
      .values({
        id,
        tenant_id: caller.tenantId,
        provider,
        ...draftColumns(changes.draft),
        status: changes.status,
        ...this.seal(caller.tenantId, id, changes.credentials.plain),
        credentials_summary: json(changes.credentials.summary),
        last_sync_at: null,
        last_error: json(null),
        archived_at: null,
        created_at: now,
        created_by: json(caller.actor),
        updated_at: now,
        updated_by: json(caller.actor),
        version: 1,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Writes the changes if the row is still at `version`; undefined when it has moved. */
  update(current: ConnectionRow, changes: ConnectionChanges, actor: ActorRow, now: Date): Promise<ConnectionRow | undefined> {
    const credentials = changes.credentials
      ? { ...this.seal(current.tenant_id, current.id, changes.credentials.plain), credentials_summary: json(changes.credentials.summary) }
      : {};
    return this.db
      .updateTable('connections')
      .set({ ...draftColumns(changes.draft), ...credentials, status: changes.status, updated_at: now, updated_by: json(actor), version: current.version + 1 })
      .where('id', '=', current.id)
      .where('tenant_id', '=', current.tenant_id)
      .where('version', '=', current.version)
      .returningAll()
      .executeTakeFirst();
  }

  /** Archives the row if it is still at `version`: its credentials are destroyed. */
  archive(current: ConnectionRow, actor: ActorRow, now: Date): Promise<ConnectionRow | undefined> {
    return this.db
      .updateTable('connections')
      .set({
        status: 'archived',
        enabled: false,
        archived_at: now,
        credentials_ciphertext: null,
        credentials_key: null,
        credentials_key_version: null,
        credentials_summary: json({}),
        updated_at: now,
        updated_by: json(actor),
        version: current.version + 1,
      })
      .where('id', '=', current.id)
      .where('tenant_id', '=', current.tenant_id)
      .where('version', '=', current.version)
      .returningAll()
      .executeTakeFirst();
  }

  /** Records a sync run's effect on the connection's health. */
  recordHealth(current: ConnectionRow, health: SyncHealth, actor: ActorRow, now: Date): Promise<ConnectionRow> {
    const { last_error, last_sync_at, ...rest } = health;
    return this.db
      .updateTable('connections')
      .set({
        ...rest,
        ...(last_sync_at === undefined ? {} : { last_sync_at }),
        last_error: json(last_error),
        updated_at: now,
        updated_by: json(actor),
        version: current.version + 1,
      })
      .where('id', '=', current.id)
      .where('tenant_id', '=', current.tenant_id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  insertSyncRun(caller: Caller, connectionId: string, run: NewSyncRun, now: Date): Promise<SyncRunRow> {
    return this.db
      .insertInto('sync_runs')
      .values({ id: newId('run'), tenant_id: caller.tenantId, connection_id: connectionId, ...run, error: json(run.error), recorded_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async appendEvent(caller: Caller, event: NewEvent): Promise<void> {
    await this.db
      .insertInto('connection_events')
      .values({
        id: newId('evt'),
        tenant_id: caller.tenantId,
        connection_id: event.connectionId,
        action: event.action,
        actor: json(caller.actor),
        changed_fields: event.changed,
        status_from: event.statusFrom,
        status_to: event.statusTo,
        request_id: caller.requestId,
        occurred_at: event.at,
      })
      .execute();
    if (this.onEvent) await this.onEvent(this.db, caller, event);
  }

  /** The request's own step that commits with the change (an Idempotency-Key's reply):
   * called last, inside the transaction, with what the use case returns. */
  async beforeCommit(caller: Caller, outcome: unknown, about: { connectionId: string }): Promise<void> {
    if (caller.beforeCommit) await caller.beforeCommit(this.db, outcome, about);
  }

  // ---- credentials -------------------------------------------------------------------

  /** The plaintext credentials of a row: only to merge a patch into them. */
  openCredentials(row: ConnectionRow): PlainCredentials {
    if (!row.credentials_ciphertext || !row.credentials_key || row.credentials_key_version === null) return {};
    try {
      return this.cipher.decrypt(
        { ciphertext: Buffer.from(row.credentials_ciphertext), wrappedKey: Buffer.from(row.credentials_key), keyVersion: row.credentials_key_version },
        { tenantId: row.tenant_id, connectionId: row.id },
      );
    } catch (error) {
      // Never garbage, never a value: the problem names the connection and the key version only.
      if (error instanceof UndecryptableError) throw credentialsUndecryptable(row.id, error.keyVersion);
      throw error;
    }
  }

  /** Per field: set, last 4 (only the `hinted` fields, and only values of 12+ characters:
   * hints.ts), fingerprint, and when it last changed. */
  summarise(tenantId: string, credentials: PlainCredentials, previous: CredentialSummary, now: Date, hinted: ReadonlySet<string>): CredentialSummary {
    return Object.fromEntries(
      Object.entries(credentials).map(([name, value]) => {
        const fingerprint = this.cipher.fingerprint(value, tenantId);
        const unchanged = previous[name]?.fingerprint === fingerprint;
        return [name, { set: true, last4: last4Of(value, hinted.has(name)), fingerprint, updated_at: unchanged ? previous[name]!.updated_at : now.toISOString() }];
      }),
    );
  }

  private seal(tenantId: string, connectionId: string, credentials: PlainCredentials) {
    if (Object.keys(credentials).length === 0) return { credentials_ciphertext: null, credentials_key: null, credentials_key_version: null };
    const sealed = this.cipher.encrypt(credentials, { tenantId, connectionId });
    return { credentials_ciphertext: sealed.ciphertext, credentials_key: sealed.wrappedKey, credentials_key_version: sealed.keyVersion };
  }
}

function draftColumns(draft: ConnectionDraft) {
  return {
    reference: draft.reference,
    name: draft.name,
    description: draft.description,
    environment: draft.environment,
    enabled: draft.enabled,
    priority: draft.priority,
    status_message: draft.status_message,
    settings: json(draft.settings),
    sync_config: json(draft.sync_config),
    metadata: json(draft.metadata),
    tags: draft.tags,
    linked_resources: json(draft.linked_resources),
  };
}
