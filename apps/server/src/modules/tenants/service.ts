/**
 * Tenants, their API keys and the platform keys. A key is `pb_` (tenant) or `pbp_`
 * (platform) + 32 random bytes (base64url): high entropy, so a single SHA-256 is a safe way
 * to store it (no slow hash needed, and the lookup on every request stays one indexed
 * query). The key itself is returned once, at creation or rotation. Every creation,
 * rotation and revocation is written to the audit trail in the same transaction.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { DomainError, invalidCursor } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { Acting, AuditAction, AuditService } from '../audit/service.js';
import { DEFAULT_OVERLAP_SECONDS, expiryOf, isLive, overlapEnd, successorExpiry } from './lifecycle.js';
import type { InStatementCounting, RateLimitCount } from '../../platform/rate-limits.js';
import { TenantsRepository, type ApiKeyRow, type KeyByHash, type KeyOwner, type TenantRow } from './repository.js';
import type {
  ApiKeyCreatedView,
  ApiKeyRotatedView,
  ApiKeyView,
  ApiTenant,
  PlatformKeyCreatedView,
  PlatformKeyRotatedView,
  PlatformKeyScope,
  PlatformKeyView,
  Scope,
} from './types.js';

export type { ApiKeyView, ApiTenant, PlatformKeyView, Scope };

/** Who asks, as the key use cases need it: to audit, and to refuse handing out rights the caller lacks. */
export type KeyActing = Acting;

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/** How stale last_used_at may get before a request refreshes it: bounds the writes on the hot path. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export type AuthenticatedKey =
  | { kind: 'tenant'; id: string; tenantId: string; scopes: string[] }
  | { kind: 'platform'; id: string; tenantId: null; scopes: string[] };

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

const toApiTenant = (row: TenantRow): ApiTenant => ({ id: row.id, name: row.name, created_at: iso(row.created_at)! });

function keyMembers(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    created_at: iso(row.created_at)!,
    last_used_at: iso(row.last_used_at),
    expires_at: iso(row.expires_at),
    revoked_at: iso(row.revoked_at),
    replaced_by: row.replaced_by,
  };
}

const toApiKey = (row: ApiKeyRow): ApiKeyView => ({ ...keyMembers(row), tenant_id: row.tenant_id!, scopes: row.scopes as Scope[] });
const toPlatformKey = (row: ApiKeyRow): PlatformKeyView => ({ ...keyMembers(row), scopes: row.scopes as PlatformKeyScope[] });

const tenantNotFound = (id: string) => new DomainError('not_found', `No tenant ${id}.`);
const keyNotFound = (owner: KeyOwner, keyId: string) =>
  new DomainError('not_found', owner.kind === 'tenant' ? `No API key ${keyId} in tenant ${owner.tenantId}.` : `No platform key ${keyId}.`);

const newKeyValue = (owner: KeyOwner): string => `${owner.kind === 'tenant' ? 'pb' : 'pbp'}_${randomBytes(32).toString('base64url')}`;

/** No principal hands out rights it does not hold: not by creating a key, nor by rotating one
 * (the new key has the old one's scopes) or revoking one stronger than itself. */
function requireHeld(acting: KeyActing, scopes: readonly string[]): void {
  const missing = [...new Set(scopes)].filter((scope) => !acting.scopes.includes(scope));
  if (missing.length) {
    throw new DomainError('forbidden', `A key can only manage keys whose scopes it holds itself; this one lacks ${missing.join(', ')}.`, {
      details: { required_scopes: missing },
    });
  }
}

const auditTarget = (owner: KeyOwner) => (owner.kind === 'tenant' ? ('api_key' as const) : ('platform_key' as const));
const auditAction = (owner: KeyOwner, verb: 'created' | 'rotated' | 'revoked'): AuditAction => `${auditTarget(owner)}.${verb}`;
const ownerTenant = (owner: KeyOwner): string | null => (owner.kind === 'tenant' ? owner.tenantId : null);

export class TenantsService {
  private readonly repository: TenantsRepository;

  constructor(
    db: Db,
    private readonly audit: AuditService,
  ) {
    this.repository = new TenantsRepository(db);
  }

  /** `within` runs in the tenant's transaction, after its insert: a write of another feature
   * that must commit with the new tenant or not at all (a connect session created with it). */
  async createTenant(acting: Acting, name: string, within?: (tx: Db, tenant: ApiTenant) => Promise<void>): Promise<ApiTenant> {
    return this.repository.transaction(async (tx, db) => {
      const tenant = toApiTenant(await tx.insertTenant({ id: newId('ten'), name, created_at: new Date() }));
      await this.audit.record(acting, { tenantId: tenant.id, action: 'tenant.created', target: { type: 'tenant', id: tenant.id } }, db);
      if (within) await within(db, tenant);
      if (acting.beforeCommit) await acting.beforeCommit(db, tenant);
      return tenant;
    });
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

  // ---- keys of either owner ----------------------------------------------------------

  private async requireOwner(owner: KeyOwner): Promise<void> {
    if (owner.kind === 'tenant' && !(await this.repository.tenantExists(owner.tenantId))) throw tenantNotFound(owner.tenantId);
  }

  private async createKey(acting: KeyActing, owner: KeyOwner, body: { name: string; scopes: string[]; expires_at?: string }): Promise<{ row: ApiKeyRow; key: string }> {
    requireHeld(acting, body.scopes);
    await this.requireOwner(owner);
    const now = new Date();
    const expiresAt = expiryOf(body.expires_at, now);
    const key = newKeyValue(owner);
    return this.repository.transaction(async (tx, db) => {
      const row = await tx.insertApiKey({
        id: newId('key'),
        kind: owner.kind,
        tenant_id: ownerTenant(owner),
        name: body.name,
        scopes: [...new Set(body.scopes)],
        prefix: key.slice(0, 10),
        key_hash: hashApiKey(key),
        created_at: now,
        expires_at: expiresAt,
      });
      await this.audit.record(acting, { tenantId: ownerTenant(owner), action: auditAction(owner, 'created'), target: { type: auditTarget(owner), id: row.id }, details: { name: row.name, scopes: row.scopes, expires_at: iso(row.expires_at) }, at: now }, db);
      return { row, key };
    });
  }

  private async listKeys(owner: KeyOwner, query: { limit?: number; cursor?: string }): Promise<{ rows: ApiKeyRow[]; next_cursor: string | null }> {
    await this.requireOwner(owner);
    const limit = query.limit ?? 50;
    const list = owner.kind === 'tenant' ? `api_keys:${owner.tenantId}` : 'platform_keys';
    let afterId: string | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || typeof position.id !== 'string') throw invalidCursor();
      afterId = position.id;
    }
    const rows = await this.repository.listApiKeys(owner, afterId, limit);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return { rows: data, next_cursor: rows.length > limit && last ? encodeCursor(list, { id: last.id }) : null };
  }

  /** Revokes a key at once; revoking a revoked key answers it as it is (and records nothing). */
  private async revokeKey(acting: KeyActing, owner: KeyOwner, keyId: string): Promise<ApiKeyRow> {
    return this.repository.transaction(async (tx, db) => {
      const current = await tx.findApiKey(owner, keyId, { forUpdate: true });
      if (!current) throw keyNotFound(owner, keyId);
      requireHeld(acting, current.scopes);
      if (current.revoked_at !== null) return current;
      const now = new Date();
      const row = await tx.revokeApiKey(keyId, now);
      await this.audit.record(acting, { tenantId: ownerTenant(owner), action: auditAction(owner, 'revoked'), target: { type: auditTarget(owner), id: keyId }, at: now }, db);
      return row;
    });
  }

  /**
   * Issues a new key with the old one's name and scopes; the old one keeps working until the
   * end of the overlap (or its own expiry, if sooner), then no more. Only a live key that was
   * not rotated before can be rotated: a second rotation would fork the chain.
   */
  private async rotateKey(acting: KeyActing, owner: KeyOwner, keyId: string, overlapSeconds = DEFAULT_OVERLAP_SECONDS): Promise<{ next: ApiKeyRow; key: string; previous: ApiKeyRow }> {
    const key = newKeyValue(owner);
    return this.repository.transaction(async (tx, db) => {
      const current = await tx.findApiKey(owner, keyId, { forUpdate: true });
      if (!current) throw keyNotFound(owner, keyId);
      requireHeld(acting, current.scopes);
      const now = new Date();
      if (current.replaced_by !== null) throw new DomainError('conflict', `Key ${keyId} was already rotated; rotate its successor ${current.replaced_by}.`);
      if (!isLive(current, now)) throw new DomainError('conflict', `Key ${keyId} is ${current.revoked_at !== null ? 'revoked' : 'expired'}: only a live key can be rotated. Create a new key instead.`);
      const next = await tx.insertApiKey({
        id: newId('key'),
        kind: owner.kind,
        tenant_id: ownerTenant(owner),
        name: current.name,
        scopes: current.scopes,
        prefix: key.slice(0, 10),
        key_hash: hashApiKey(key),
        created_at: now,
        expires_at: successorExpiry(current, now),
      });
      const previous = await tx.retireApiKey(keyId, next.id, overlapEnd(current, overlapSeconds, now));
      await this.audit.record(
        acting,
        {
          tenantId: ownerTenant(owner),
          action: auditAction(owner, 'rotated'),
          target: { type: auditTarget(owner), id: keyId },
          details: { new_key_id: next.id, overlap_seconds: overlapSeconds, previous_key_expires_at: iso(previous.expires_at) },
          at: now,
        },
        db,
      );
      return { next, key, previous };
    });
  }

  // ---- tenant keys -------------------------------------------------------------------

  async createApiKey(acting: KeyActing, tenantId: string, body: { name: string; scopes: Scope[]; expires_at?: string }): Promise<ApiKeyCreatedView> {
    const { row, key } = await this.createKey(acting, { kind: 'tenant', tenantId }, body);
    return { ...toApiKey(row), api_key: key };
  }

  async listApiKeys(tenantId: string, query: { limit?: number; cursor?: string }): Promise<{ data: ApiKeyView[]; next_cursor: string | null }> {
    const { rows, next_cursor } = await this.listKeys({ kind: 'tenant', tenantId }, query);
    return { data: rows.map(toApiKey), next_cursor };
  }

  async revokeApiKey(acting: KeyActing, tenantId: string, keyId: string): Promise<ApiKeyView> {
    return toApiKey(await this.revokeKey(acting, { kind: 'tenant', tenantId }, keyId));
  }

  async rotateApiKey(acting: KeyActing, tenantId: string, keyId: string, overlapSeconds?: number): Promise<ApiKeyRotatedView> {
    const { next, key, previous } = await this.rotateKey(acting, { kind: 'tenant', tenantId }, keyId, overlapSeconds);
    return { new_key: { ...toApiKey(next), api_key: key }, previous_key: toApiKey(previous) };
  }

  // ---- platform keys -----------------------------------------------------------------

  async createPlatformKey(acting: KeyActing, body: { name: string; scopes: PlatformKeyScope[]; expires_at?: string }): Promise<PlatformKeyCreatedView> {
    const { row, key } = await this.createKey(acting, { kind: 'platform' }, body);
    return { ...toPlatformKey(row), api_key: key };
  }

  async listPlatformKeys(query: { limit?: number; cursor?: string }): Promise<{ data: PlatformKeyView[]; next_cursor: string | null }> {
    const { rows, next_cursor } = await this.listKeys({ kind: 'platform' }, query);
    return { data: rows.map(toPlatformKey), next_cursor };
  }

  async revokePlatformKey(acting: KeyActing, keyId: string): Promise<PlatformKeyView> {
    return toPlatformKey(await this.revokeKey(acting, { kind: 'platform' }, keyId));
  }

  async rotatePlatformKey(acting: KeyActing, keyId: string, overlapSeconds?: number): Promise<PlatformKeyRotatedView> {
    const { next, key, previous } = await this.rotateKey(acting, { kind: 'platform' }, keyId, overlapSeconds);
    return { new_key: { ...toPlatformKey(next), api_key: key }, previous_key: toPlatformKey(previous) };
  }

  /** Whether a platform key can authenticate: then PATCHBAY_ADMIN_KEY may be left unset in production. */
  livePlatformKeyExists(): Promise<boolean> {
    return this.repository.livePlatformKeyExists(new Date());
  }

  /** The hot path: one indexed query by hash on every request, never cached, so that a
   * revocation or an expiry holds on every server process at once. last_used_at is refreshed
   * at most once a minute, after the answer, so it costs the request nothing. */
  async authenticate(apiKey: string): Promise<AuthenticatedKey | undefined> {
    const row = await this.repository.findKeyByHash(hashApiKey(apiKey));
    const now = new Date();
    if (!row || !isLive(row, now)) return undefined;
    this.touch(row, now);
    return authenticated(row);
  }

  /** authenticate() and the request's per-key and per-tenant rate-limit counts in one
   * statement, one round trip (PostgreSQL; decision 0028): the same guarantee, that every
   * request reads the key as it is in the database now. Nothing is counted for a key that is
   * not live; undefined then. */
  async authenticateCounting(apiKey: string, counting: InStatementCounting, tenantHeader: string | undefined): Promise<{ key: AuthenticatedKey; counts: RateLimitCount[] } | undefined> {
    const now = new Date();
    const found = await this.repository.findLiveKeyCounting(hashApiKey(apiKey), now, counting, tenantHeader);
    if (!found) return undefined;
    this.touch(found.key, now);
    return { key: authenticated(found.key), counts: found.counts };
  }

  /** Keys whose last_used_at is being written: under load, many requests see it stale at once; one write is enough. */
  private readonly touching = new Set<string>();

  private touch(row: Pick<KeyByHash, 'id' | 'last_used_at'>, now: Date): void {
    if (row.last_used_at && now.getTime() - new Date(row.last_used_at).getTime() <= LAST_USED_RESOLUTION_MS) return;
    if (this.touching.has(row.id)) return;
    this.touching.add(row.id);
    void this.repository
      .touchApiKey(row.id, now)
      .catch(() => undefined)
      .finally(() => this.touching.delete(row.id));
  }
}

const authenticated = (row: KeyByHash): AuthenticatedKey =>
  row.kind === 'platform' ? { kind: 'platform', id: row.id, tenantId: null, scopes: row.scopes } : { kind: 'tenant', id: row.id, tenantId: row.tenant_id!, scopes: row.scopes };
