/** Every query of tenants, their API keys and the platform keys. Keys are stored as hashes only. */
import type { Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ApiKeysTable, TenantsTable } from '../../platform/db/schema.js';

export type TenantRow = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type KeyKind = ApiKeyRow['kind'];

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

  /** The hot path of authentication: one indexed query by hash, on every request (no cache:
   * a revocation is seen by every server process at once). */
  findKeyByHash(hash: Buffer): Promise<Pick<ApiKeyRow, 'id' | 'kind' | 'tenant_id' | 'scopes' | 'revoked_at' | 'expires_at' | 'last_used_at'> | undefined> {
    return this.db.selectFrom('api_keys').select(['id', 'kind', 'tenant_id', 'scopes', 'revoked_at', 'expires_at', 'last_used_at']).where('key_hash', '=', hash).executeTakeFirst();
  }

  async touchApiKey(id: string, at: Date): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
