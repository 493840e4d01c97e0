/** Every query of connect sessions. A session's token is stored as its SHA-256 hash only. */
import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ConnectSessionsTable } from '../../platform/db/schema.js';

export type ConnectSessionRow = Selectable<ConnectSessionsTable>;

/** The hash a token is looked up by: the token has 256 random bits, so a plain SHA-256 is enough. */
export const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

export class ConnectSessionsRepository {
  constructor(readonly db: Db) {}

  /** Inserts a session with the hash of its token (the token itself is never stored). */
  insert(row: ConnectSessionRow, token: string): Promise<ConnectSessionRow> {
    return this.db.insertInto('connect_sessions').values({ ...row, token_hash: tokenHash(token), slots: JSON.stringify(row.slots), end_user: JSON.stringify(row.end_user), connection_ids: JSON.stringify(row.connection_ids), created_by: JSON.stringify(row.created_by), branding: row.branding === null ? null : JSON.stringify(row.branding) }).returningAll().executeTakeFirstOrThrow();
  }

  find(tenantId: string, id: string): Promise<ConnectSessionRow | undefined> {
    return this.db.selectFrom('connect_sessions').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  byToken(token: string): Promise<ConnectSessionRow | undefined> {
    return this.db.selectFrom('connect_sessions').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
  }

  /** Newest first (ids are time-ordered), one row more than asked. */
  list(tenantId: string, beforeId: string | undefined, limit: number): Promise<ConnectSessionRow[]> {
    let query = this.db.selectFrom('connect_sessions').selectAll().where('tenant_id', '=', tenantId);
    if (beforeId !== undefined) query = query.where('id', '<', beforeId);
    return query.orderBy('id', 'desc').limit(limit + 1).execute();
  }

  /** Cancels a pending, unexpired session; undefined when it was not one. */
  cancel(tenantId: string, id: string, at: Date): Promise<ConnectSessionRow | undefined> {
    return this.db
      .updateTable('connect_sessions')
      .set({ status: 'cancelled', cancelled_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .where('expires_at', '>', at)
      .returningAll()
      .executeTakeFirst();
  }

  /** The page's form token for the session (a hash of it): each page view replaces it. */
  async setFormToken(id: string, formToken: string): Promise<void> {
    await this.db.updateTable('connect_sessions').set({ form_token_hash: tokenHash(formToken) }).where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /**
   * Claims a pending, unexpired session for one submission, by its token and the page's form
   * token: a compare-and-set, so of two concurrent submissions exactly one gets the row. Run
   * inside the completing transaction: the row stays locked until it commits (completed) or
   * rolls back (pending again), and the other submission's update then finds it so.
   */
  claim(token: string, formToken: string, at: Date): Promise<ConnectSessionRow | undefined> {
    return this.db
      .updateTable('connect_sessions')
      .set({ status: 'completing' })
      .where('token_hash', '=', tokenHash(token))
      .where('form_token_hash', '=', tokenHash(formToken))
      .where('status', '=', 'pending')
      .where('expires_at', '>', at)
      .returningAll()
      .executeTakeFirst();
  }

  complete(id: string, connectionIds: string[], at: Date): Promise<ConnectSessionRow> {
    return this.db
      .updateTable('connect_sessions')
      .set({ status: 'completed', completed_at: at, connection_ids: JSON.stringify(connectionIds), form_token_hash: null })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }
}
