/** The idempotency_keys table: one row per (scope, key), claimed in_flight, then done with the reply. */
import type { Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { IdempotencyKeysTable } from '../../platform/db/schema.js';

export type IdempotencyRow = Selectable<IdempotencyKeysTable>;

export class IdempotencyRepository {
  constructor(private readonly db: Db) {}

  async deleteExpired(scope: string, key: string, before: Date): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('tenant_id', '=', scope).where('key', '=', key).where('created_at', '<', before).execute();
  }

  /** Claims the key; false when another request holds it. */
  async claim(scope: string, key: string, operation: string, hash: string, at: Date): Promise<boolean> {
    const claimed = await this.db
      .insertInto('idempotency_keys')
      .values({ tenant_id: scope, key, operation, request_hash: hash, state: 'in_flight', response_status: null, response_headers: JSON.stringify(null), response_body: JSON.stringify(null), created_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return claimed !== undefined;
  }

  find(scope: string, key: string): Promise<IdempotencyRow | undefined> {
    return this.db.selectFrom('idempotency_keys').selectAll().where('tenant_id', '=', scope).where('key', '=', key).executeTakeFirst();
  }

  async complete(scope: string, key: string, reply: { status: number; headers: Record<string, string>; body: unknown }): Promise<void> {
    await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'done', response_status: reply.status, response_headers: JSON.stringify(reply.headers), response_body: JSON.stringify(reply.body ?? null) })
      .where('tenant_id', '=', scope)
      .where('key', '=', key)
      .execute();
  }

  async release(scope: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('tenant_id', '=', scope).where('key', '=', key).execute();
  }
}
