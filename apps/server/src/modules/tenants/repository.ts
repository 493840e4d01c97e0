/** Every query of tenants and their API keys. Keys are stored as hashes only. */
import type { Selectable } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { ApiKeysTable, TenantsTable } from '../../platform/db/schema.js';

export type TenantRow = Selectable<TenantsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;

export class TenantsRepository {
  constructor(private readonly db: Db) {}

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

  insertApiKey(key: Omit<ApiKeyRow, 'last_used_at' | 'revoked_at'>): Promise<ApiKeyRow> {
    return this.db.insertInto('api_keys').values(key).returningAll().executeTakeFirstOrThrow();
  }

  /** A tenant's keys by id (ids are time-ordered: this is creation order), one row more than asked. */
  listApiKeys(tenantId: string, afterId: string | undefined, limit: number): Promise<ApiKeyRow[]> {
    let query = this.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId);
    if (afterId !== undefined) query = query.where('id', '>', afterId);
    return query.orderBy('id').limit(limit + 1).execute();
  }

  /** Revokes a live key; a key revoked before is returned as it is. */
  async revokeApiKey(tenantId: string, keyId: string, at: Date): Promise<ApiKeyRow | undefined> {
    return (
      (await this.db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', keyId).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null).returningAll().executeTakeFirst()) ??
      (await this.db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('tenant_id', '=', tenantId).executeTakeFirst())
    );
  }

  /** The hot path of authentication: one indexed query by hash. */
  findKeyByHash(hash: Buffer): Promise<Pick<ApiKeyRow, 'id' | 'tenant_id' | 'scopes' | 'revoked_at' | 'last_used_at'> | undefined> {
    return this.db.selectFrom('api_keys').select(['id', 'tenant_id', 'scopes', 'revoked_at', 'last_used_at']).where('key_hash', '=', hash).executeTakeFirst();
  }

  async touchApiKey(id: string, at: Date): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
