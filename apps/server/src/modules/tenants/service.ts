/**
 * Tenants and their API keys. A key is `pb_` + 32 random bytes (base64url): high entropy,
 * so a single SHA-256 is a safe way to store it (no slow hash needed, and the lookup on
 * every request stays one indexed query). The key itself is returned once, at creation.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { DomainError, invalidCursor } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { TenantsRepository, type ApiKeyRow, type TenantRow } from './repository.js';
import type { ApiKeyView, ApiTenant, Scope } from './types.js';

export type { ApiKeyView, ApiTenant, Scope };

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** How stale last_used_at may get before a request refreshes it: bounds the writes on the hot path. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthenticatedKey {
  id: string;
  tenantId: string;
  scopes: Scope[];
}

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

const toApiTenant = (row: TenantRow): ApiTenant => ({ id: row.id, name: row.name, created_at: iso(row.created_at)! });

function toApiKey(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    name: row.name,
    scopes: row.scopes as Scope[],
    prefix: row.prefix,
    created_at: iso(row.created_at)!,
    last_used_at: iso(row.last_used_at),
    revoked_at: iso(row.revoked_at),
  };
}

const tenantNotFound = (id: string) => new DomainError('not_found', `No tenant ${id}.`);

export class TenantsService {
  private readonly repository: TenantsRepository;

  constructor(db: Db) {
    this.repository = new TenantsRepository(db);
  }

  async createTenant(name: string): Promise<ApiTenant> {
    return toApiTenant(await this.repository.insertTenant({ id: newId('ten'), name, created_at: new Date() }));
  }

  tenantExists(id: string): Promise<boolean> {
    return this.repository.tenantExists(id);
  }

  async listTenants(query: { limit?: number; cursor?: string }): Promise<{ data: ApiTenant[]; next_cursor: string | null }> {
    const limit = query.limit ?? 50;
    let after: { at: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, 'tenants');
      if (!position || typeof position.at !== 'string' || typeof position.id !== 'string') throw invalidCursor();
      after = { at: new Date(position.at), id: position.id };
    }
    const rows = await this.repository.listTenants(after, limit);
    const data = rows.slice(0, limit).map(toApiTenant);
    const last = data.at(-1);
    return { data, next_cursor: rows.length > limit && last ? encodeCursor('tenants', { at: last.created_at, id: last.id }) : null };
  }

  async createApiKey(tenantId: string, name: string, scopes: Scope[]): Promise<ApiKeyView & { api_key: string }> {
    if (!(await this.repository.tenantExists(tenantId))) throw tenantNotFound(tenantId);
    const apiKey = `pb_${randomBytes(32).toString('base64url')}`;
    const row = await this.repository.insertApiKey({ id: newId('key'), tenant_id: tenantId, name, scopes: [...new Set(scopes)], prefix: apiKey.slice(0, 10), key_hash: hashApiKey(apiKey), created_at: new Date() });
    return { ...toApiKey(row), api_key: apiKey };
  }

  async listApiKeys(tenantId: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiKeyView[]; next_cursor: string | null }> {
    if (!(await this.repository.tenantExists(tenantId))) throw tenantNotFound(tenantId);
    const limit = query.limit ?? 50;
    const list = `api_keys:${tenantId}`;
    let afterId: string | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || typeof position.id !== 'string') throw invalidCursor();
      afterId = position.id;
    }
    const rows = await this.repository.listApiKeys(tenantId, afterId, limit);
    const data = rows.slice(0, limit).map(toApiKey);
    const last = data.at(-1);
    return { data, next_cursor: rows.length > limit && last ? encodeCursor(list, { id: last.id }) : null };
  }

  async revokeApiKey(tenantId: string, keyId: string): Promise<ApiKeyView> {
    const row = await this.repository.revokeApiKey(tenantId, keyId, new Date());
    if (!row) throw new DomainError('not_found', `No API key ${keyId} in tenant ${tenantId}.`);
    return toApiKey(row);
  }

  /** The hot path: one indexed query by hash. last_used_at is refreshed at most once a
   * minute, after the answer, so it costs the request nothing. */
  async authenticate(apiKey: string): Promise<AuthenticatedKey | undefined> {
    const row = await this.repository.findKeyByHash(hashApiKey(apiKey));
    if (!row || row.revoked_at !== null) return undefined;
    const now = Date.now();
    if (!row.last_used_at || now - new Date(row.last_used_at).getTime() > LAST_USED_RESOLUTION_MS) {
      void this.repository.touchApiKey(row.id, new Date(now)).catch(() => undefined);
    }
    return { id: row.id, tenantId: row.tenant_id, scopes: row.scopes as Scope[] };
  }
}
