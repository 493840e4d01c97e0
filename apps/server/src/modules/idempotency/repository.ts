/**
 * The idempotency_keys table: one row per (scope, key). A claim is a row 'in_flight' with a
 * claim token and a lease; the reply is written ('done') by the claim's holder only, inside
 * the transaction of the change it reports. A lapsed lease may be taken over by a retry.
 */
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { IdempotencyKeysTable } from '../../platform/db/schema.js';

export type IdempotencyRow = Selectable<IdempotencyKeysTable>;

export interface ClaimRef {
  scope: string;
  key: string;
  token: string;
}

export interface ReplyRow {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** `now() + ms`, in the database's clock, which every server process shares. */
const leaseEnd = (leaseMs: number) => sql<Date>`now() + (${leaseMs} * interval '1 millisecond')`;

export class IdempotencyRepository {
  constructor(private readonly db: Db) {}

  /** Claims a new key; false when a row for it exists already. */
  async claim(claim: ClaimRef, operation: string, hash: string, leaseMs: number): Promise<boolean> {
    const claimed = await this.db
      .insertInto('idempotency_keys')
      .values({
        tenant_id: claim.scope,
        key: claim.key,
        operation,
        request_hash: hash,
        state: 'in_flight',
        claim_token: claim.token,
        lease_expires_at: leaseEnd(leaseMs),
        connection_id: null,
        response_status: null,
        response_headers: JSON.stringify(null),
        response_body: JSON.stringify(null),
        created_at: sql<Date>`now()`,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return claimed !== undefined;
  }

  /** Takes over an in-flight claim whose lease has lapsed (its holder died); false when it has
   * not lapsed, or its holder finished meanwhile. The row lock makes one taker win. */
  async takeOver(claim: ClaimRef, operation: string, hash: string, leaseMs: number): Promise<boolean> {
    const taken = await this.db
      .updateTable('idempotency_keys')
      .set({ claim_token: claim.token, lease_expires_at: leaseEnd(leaseMs) })
      .where('tenant_id', '=', claim.scope)
      .where('key', '=', claim.key)
      .where('operation', '=', operation)
      .where('request_hash', '=', hash)
      .where('state', '=', 'in_flight')
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', sql<Date>`now()`)]))
      .returning('key')
      .executeTakeFirst();
    return taken !== undefined;
  }

  /** The row and, for an in-flight one, the milliseconds left on its lease. */
  async find(scope: string, key: string): Promise<(IdempotencyRow & { lease_left_ms: number | null }) | undefined> {
    return this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .select(sql<number | null>`(extract(epoch from (lease_expires_at - now())) * 1000)::float8`.as('lease_left_ms'))
      .where('tenant_id', '=', scope)
      .where('key', '=', key)
      .executeTakeFirst();
  }

  /** Stores the reply if `claim` still holds the key; false when the claim was lost. */
  async complete(claim: ClaimRef, reply: ReplyRow, connectionId: string | null): Promise<boolean> {
    const done = await this.db
      .updateTable('idempotency_keys')
      .set({
        state: 'done',
        claim_token: null,
        lease_expires_at: null,
        connection_id: connectionId,
        response_status: reply.status,
        response_headers: JSON.stringify(reply.headers),
        response_body: JSON.stringify(reply.body ?? null),
      })
      .where('tenant_id', '=', claim.scope)
      .where('key', '=', claim.key)
      .where('state', '=', 'in_flight')
      .where('claim_token', '=', claim.token)
      .returning('key')
      .executeTakeFirst();
    return done !== undefined;
  }

  /** Gives the key up after a failure, if this claim still holds it. */
  async release(claim: ClaimRef): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', claim.scope)
      .where('key', '=', claim.key)
      .where('state', '=', 'in_flight')
      .where('claim_token', '=', claim.token)
      .execute();
  }

  /** Deletes a row that expired (created before `ttlMs` ago), whatever its state. */
  async deleteExpired(scope: string, key: string, ttlMs: number): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('tenant_id', '=', scope)
      .where('key', '=', key)
      .where('created_at', '<', sql<Date>`now() - (${ttlMs} * interval '1 millisecond')`)
      .execute();
  }

  /** Deletes at most `limit` expired rows (oldest first, by the created_at index); how many went. */
  async sweep(ttlMs: number, limit: number): Promise<number> {
    const deleted = await sql<{ key: string }>`
      DELETE FROM idempotency_keys WHERE (tenant_id, key) IN (
        SELECT tenant_id, key FROM idempotency_keys
        WHERE created_at < now() - (${ttlMs} * interval '1 millisecond')
        ORDER BY created_at LIMIT ${limit}
      ) RETURNING key`.execute(this.db);
    return deleted.rows.length;
  }

  /** Forgets the stored replies about a connection (they may hold it): for its archive. */
  async forgetConnection(scope: string, connectionId: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('tenant_id', '=', scope).where('connection_id', '=', connectionId).execute();
  }
}
