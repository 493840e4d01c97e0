/** Every query of tenants, their API keys and the platform keys. Keys are stored as hashes only. */
import { sql, type Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { CountRow, InStatementCounting, RateLimitCount } from '../../platform/rate-limits.js';
import type { ApiKeysTable, TenantsTable } from '../../platform/db/schema.js';

export type TenantRow = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type KeyKind = ApiKeyRow['kind'];
/** What authentication reads of a key. */
export type KeyByHash = Pick<ApiKeyRow, 'id' | 'kind' | 'tenant_id' | 'scopes' | 'revoked_at' | 'expires_at' | 'last_used_at'>;

/** Which keys a query may see: one tenant's, or the platform's (no tenant). */
export type KeyOwner = { kind: 'tenant'; tenantId: string } | { kind: 'platform' };

export class TenantsRepository {
  constructor(readonly db: Db) {}

  /** Runs `work` in one transaction, with a repository bound to it (and the transaction, for the audit entry). */
  transaction<T>(work: (repository: TenantsRepository, tx: Db) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => work(new TenantsRepository(tx), tx));
  }

  insertTenant(tenant: TenantRow): Promise<TenantRow> {
    return this.db.insertInto('tenants').values(tenant).returningAll().executeTakeFirstOrThrow();
  }

  async tenantExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('tenants').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  /** Oldest first, keyset on (created_at, id), one row more than asked. */
  listTenants(after: { at: Date; id: string } | undefined, limit: number): Promise<TenantRow[]> {
    let query = this.db.selectFrom('tenants').selectAll();
    if (after) query = query.where((eb) => eb.or([eb('created_at', '>', after.at), eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)])]));
    return query.orderBy('created_at').orderBy('id').limit(limit + 1).execute();
  }

  insertApiKey(key: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at' | 'replaced_by'>): Promise<ApiKeyRow> {
    return this.db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow();
  }

  private owned(owner: KeyOwner) {
    const query = this.db.selectFrom('api_keys').selectAll().where('kind', '=', owner.kind);
    return owner.kind === 'tenant' ? query.where('tenant_id', '=', owner.tenantId) : query.where('tenant_id', 'is', null);
  }

  /** An owner's keys by id (ids are time-ordered: this is creation order), one row more than asked. */
  listApiKeys(owner: KeyOwner, afterId: string | undefined, limit: number): Promise<ApiKeyRow[]> {
    let query = this.owned(owner);
    if (afterId !== undefined) query = query.where('id', '>', afterId);
    return query.orderBy('id').limit(limit + 1).execute();
  }

  /** One key of an owner; `forUpdate` locks it (rotation and revocation queue up on it). */
  findApiKey(owner: KeyOwner, keyId: string, options: { forUpdate?: boolean } = {}): Promise<ApiKeyRow | undefined> {
    const query = this.owned(owner).where('id', '=', keyId);
    return (options.forUpdate ? query.forUpdate() : query).executeTakeFirst();
  }

  revokeApiKey(keyId: string, at: Date): Promise<ApiKeyRow> {
    return this.db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', keyId).returningAll().executeTakeFirstOrThrow();
  }

  /** The old key of a rotation: it names its successor and stops working at `expiresAt`. */
  retireApiKey(keyId: string, replacedBy: string, expiresAt: Date): Promise<ApiKeyRow> {
    return this.db.updateTable('api_keys').set({ replaced_by: replacedBy, expires_at: expiresAt }).where('id', '=', keyId).returningAll().executeTakeFirstOrThrow();
  }

  /** Whether any platform key can still authenticate (not revoked, not expired). */
  async livePlatformKeyExists(now: Date): Promise<boolean> {
    const row = await this.db
      .selectFrom('api_keys')
      .select('id')
      .where('kind', '=', 'platform')
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Authentication where the counts are not in the database (PGlite, or a request not
   * counted): one indexed query by hash, on every request (no cache: a revocation is seen by
   * every server process at once). */
  findKeyByHash(hash: Buffer): Promise<KeyByHash | undefined> {
    return this.db.selectFrom('api_keys').select(['id', 'kind', 'tenant_id', 'scopes', 'revoked_at', 'expires_at', 'last_used_at']).where('key_hash', '=', hash).executeTakeFirst();
  }

  /**
   * The hot path on PostgreSQL (decision 0028): ONE statement, one round trip, that finds the
   * key by hash if it is live at `now` (not revoked, not expired: read in the statement's own
   * snapshot, so a revocation committed before it started is seen, on every process) and, only
   * for such a key, counts the request against the per-key and the per-tenant quotas (the
   * tenant: the key's own, or `tenantHeader` for a platform key) with the rate-limit table's
   * upserts as data-modifying CTEs. Undefined (and nothing counted) when no live key has this
   * hash. The commit is asynchronous (`synchronous_commit` off for this statement only): the
   * counts are visible to every process at commit as always, only not waited for on disk — a
   * PostgreSQL crash may forget the last fraction of a second of counts, never any data.
   */
  async findLiveKeyCounting(hash: Buffer, now: Date, counting: InStatementCounting, tenantHeader: string | undefined): Promise<{ key: KeyByHash; counts: RateLimitCount[] } | undefined> {
    const nowMs = now.getTime();
    const perKey = counting.upsert('per_key', sql`SELECT id AS subject FROM k`, nowMs);
    const perTenant = counting.upsert('per_tenant', sql`SELECT coalesce(tenant_id, ${tenantHeader ?? null}::text) AS subject FROM k`, nowMs);
    const ctes = [
      sql`k AS (SELECT id, kind, tenant_id, scopes, revoked_at, expires_at, last_used_at FROM api_keys WHERE key_hash = ${hash} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now}))`,
      ...(perKey ? [sql`per_key AS (${perKey})`] : []),
      ...(perTenant ? [sql`per_tenant AS (${perTenant})`] : []),
    ];
    const counted = (name: 'per_key' | 'per_tenant', present: boolean) =>
      present ? sql`(SELECT points FROM ${sql.raw(name)}) AS ${sql.raw(`${name}_points`)}, (SELECT expire FROM ${sql.raw(name)}) AS ${sql.raw(`${name}_expire`)}` : sql`NULL AS ${sql.raw(`${name}_points`)}, NULL AS ${sql.raw(`${name}_expire`)}`;
    const { rows } = await sql<KeyByHash & { per_key_points: CountRow['points'] | null; per_key_expire: CountRow['expire']; per_tenant_points: CountRow['points'] | null; per_tenant_expire: CountRow['expire'] }>`
      WITH ${sql.join(ctes)}
      SELECT k.*, ${counted('per_key', perKey !== undefined)}, ${counted('per_tenant', perTenant !== undefined)},
        set_config('synchronous_commit', 'off', true) AS async_commit
      FROM k`.execute(this.db);
    const row = rows[0];
    if (!row) return undefined;
    const counts: RateLimitCount[] = [];
    for (const policy of ['per_key', 'per_tenant'] as const) {
      const points = row[`${policy}_points`];
      if (points === null) continue;
      const count = counting.countOf(policy, { points, expire: row[`${policy}_expire`] }, nowMs);
      if (count) counts.push(count);
    }
    const { id, kind, tenant_id, scopes, revoked_at, expires_at, last_used_at } = row;
    return { key: { id, kind, tenant_id, scopes, revoked_at, expires_at, last_used_at }, counts };
  }

  async touchApiKey(id: string, at: Date): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
