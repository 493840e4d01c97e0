/** Every query of the audit trail. Entries are only ever inserted, never changed. */
import { sql, type Insertable, type Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { AuditEventsTable } from '../../platform/db/schema.js';

export type AuditEventRow = Selectable<AuditEventsTable>;

/** The filters of a list, already checked. */
export interface AuditFilter {
  action?: string[];
  actorType?: string;
  actorId?: string;
  connectionId?: string;
  occurredAfter?: Date;
  occurredBefore?: Date;
}

export class AuditRepository {
  /** `db` may be a transaction: the entry then commits or rolls back with the change it records. */
  constructor(private readonly db: Db) {}

  async insert(row: Insertable<AuditEventsTable>): Promise<void> {
    await this.db.insertInto('audit_events').values(row).execute();
  }

  /** A tenant's entries, newest first, keyset on (occurred_at, id), one row more than asked. */
  list(tenantId: string, filter: AuditFilter, before: { at: Date; id: string } | undefined, limit: number): Promise<AuditEventRow[]> {
    let query = this.db.selectFrom('audit_events').selectAll().where('tenant_id', '=', tenantId);
    if (filter.action?.length) query = query.where('action', 'in', filter.action);
    if (filter.actorType !== undefined) query = query.where(sql<string>`actor->>'type'`, '=', filter.actorType);
    if (filter.actorId !== undefined) {
      const id = filter.actorId;
      query = query.where((eb) => eb.or([eb(sql<string>`actor->>'id'`, '=', id), eb(sql<string>`actor->>'subject'`, '=', id)]));
    }
    if (filter.connectionId !== undefined) query = query.where('connection_id', '=', filter.connectionId);
    if (filter.occurredAfter !== undefined) query = query.where('occurred_at', '>=', filter.occurredAfter);
    if (filter.occurredBefore !== undefined) query = query.where('occurred_at', '<', filter.occurredBefore);
    if (before) query = query.where((eb) => eb.or([eb('occurred_at', '<', before.at), eb.and([eb('occurred_at', '=', before.at), eb('id', '<', before.id)])]));
    return query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit + 1).execute();
  }
}
