/**
 * Tenants and their API keys. A key is `pb_` + 32 random bytes (base64url): high entropy,
 * so a single SHA-256 is a safe way to store it (no slow hash needed, and the lookup on
 * every request stays one indexed query). The key itself is returned once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AdminSchema } from '../../http/admin-types.js';
import { HttpProblem } from '@patchbay/openapi-http';
import type { Db } from '../../store/database.js';
import type { ApiKeysTable } from '../../store/schema.js';
import type { Selectable } from 'kysely';
import { newId } from '../ids.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../pagination.js';

export type Scope = AdminSchema<'Scope'>;
export type ApiTenant = AdminSchema<'Tenant'>;
export type ApiKeyView = AdminSchema<'ApiKey'>;

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** How stale last_used_at may get before a request refreshes it: bounds the writes on the hot path. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthenticatedKey {
  id: string;
  tenantId: string;
  scopes: Scope[];
}

function toApiKey(row: Selectable<ApiKeysTable>): ApiKeyView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    scopes: row.scopes as Scope[],
    prefix: row.prefix,
    created_at: new Date(row.created_at).toISOString(),
    last_used_at: row.last_used_at ? new Date(row.last_used_at).toISOString() : null,
    revoked_at: row.revoked_at ? new Date(row.revoked_at).toISOString() : null,
  };
}

export class TenantsService {
  constructor(private readonly db: Db) {}

  async createTenant(name: string): Promise<ApiTenant> {
    const row = await this.db.insertInto('tenants').values({ id: newId('ten'), name, created_at: new Date() }).returningAll().executeTakeFirstOrThrow();
    return { id: row.id, name: row.name, created_at: new Date(row.created_at).toISOString() };
  }

  async tenantExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('tenants').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async listTenants(query: { limit?: number; cursor?: string }): Promise<{ data: ApiTenant[]; next_cursor: string | null }> {
    const limit = query.limit ?? 50;
    let q = this.db.selectFrom('tenants').selectAll();
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, 'tenants');
      if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') throw invalidCursor();
      q = q.where((eb) => eb.or([eb('created_at', '>', new Date(position.at as string)), eb.and([eb('created_at', '=', new Date(position.at as string)), eb('id', '>', position.id as string)])]));
    }
    const rows = await q.orderBy('created_at').orderBy('id').limit(limit + 1).execute();
    const data = rows.slice(0, limit).map((r) => ({ id: r.id, name: r.name, created_at: new Date(r.created_at).toISOString() }));
    const last = data.at(-1);
    return { data, next_cursor: rows.length > limit && last ? encodeCursor('tenants', { at: last.created_at, id: last.id }) : null };
  }

  async createApiKey(tenantId: string, name: string, scopes: Scope[]): Promise<ApiKeyView & { api_key: string }> {
    if (!(await this.tenantExists(tenantId))) throw tenantNotFound(tenantId);
    const apiKey = `pb_${randomBytes(32).toString('base64url')}`;
    const row = await this.db
      .insertInto('api_keys')
      .values({ id: newId('key'), tenant_id: tenantId, name, scopes: [...new Set(scopes)], prefix: apiKey.slice(0, 10), key_hash: hashApiKey(apiKey), created_at: new Date() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toApiKey(row), api_key: apiKey };
  }

  async listApiKeys(tenantId: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiKeyView[]; next_cursor: string | null }> {
    if (!(await this.tenantExists(tenantId))) throw tenantNotFound(tenantId);
    const limit = query.limit ?? 50;
    let q = this.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId);
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, `api_keys:${tenantId}`);
      if (!position || typeof position.id !== 'string') throw invalidCursor();
      q = q.where('id', '>', position.id);
    }
    // Ids are time-ordered, so ordering by id is ordering by creation.
    const rows = await q.orderBy('id').limit(limit + 1).execute();
    const data = rows.slice(0, limit).map(toApiKey);
    const last = data.at(-1);
    return { data, next_cursor: rows.length > limit && last ? encodeCursor(`api_keys:${tenantId}`, { id: last.id }) : null };
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<ApiKeyView> {
    const row =
      (await this.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', keyId).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null).returningAll().executeTakeFirst()) ??
      (await this.db.selectFrom('api_keys').selectAll().where('id', '=', keyId).where('tenant_id', '=', tenantId).executeTakeFirst());
    if (!row) throw new HttpProblem('not_found', `No API key ${keyId} in tenant ${tenantId}.`);
    return toApiKey(row);
  }

  /** The hot path: one indexed query by hash. last_used_at is refreshed at most once a
   * minute, after the answer, so it costs the request nothing. */
  async authenticate(apiKey: string): Promise<AuthenticatedKey | undefined> {
    const row = await this.db.selectFrom('api_keys').select(['id', 'tenant_id', 'scopes', 'revoked_at', 'last_used_at']).where('key_hash', '=', hashApiKey(apiKey)).executeTakeFirst();
    if (!row || row.revoked_at !== null) return undefined;
    const now = Date.now();
    if (!row.last_used_at || now - new Date(row.last_used_at).getTime() > LAST_USED_RESOLUTION_MS) {
      void this.db
        .updateTable('api_keys')
        .set({ last_used_at: new Date(now) })
        .where('id', '=', row.id)
        .execute()
        .catch(() => undefined);
    }
    return { id: row.id, tenantId: row.tenant_id, scopes: row.scopes as Scope[] };
  }
}

const tenantNotFound = (id: string) => new HttpProblem('not_found', `No tenant ${id}.`);
