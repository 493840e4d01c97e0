/**
 * The audit trail: credential changes, key creation, rotation and revocation, changes a
 * token authorised, and each use of the bootstrap key, with the actor and the server's own
 * request id (the client's X-Request-Id beside it, never in its place). A change that is a
 * database write records its entry in the same transaction (`record(..., tx)`), so there is
 * never a change without its entry or an entry without its change. No entry carries a
 * secret: only field names and non-secret facts are given to `record`.
 */
import type { Db } from '../../platform/db/database.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import { invalidCursor } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import type { ActorRow } from '../../platform/db/schema.js';
import { AuditRepository, type AuditEventRow, type AuditFilter } from './repository.js';
import type { Acting, ApiAuditEvent, AuditAction, AuditEntry } from './types.js';

export type { Acting, ApiAuditEvent, AuditAction, AuditEntry };

export interface ListAuditEventsQuery {
  action?: AuditAction[];
  actor_type?: ApiAuditEvent['actor']['type'];
  actor_id?: string;
  connection_id?: string;
  occurred_after?: string;
  occurred_before?: string;
  limit?: number;
  cursor?: string;
}

const iso = (value: Date | string): string => new Date(value).toISOString();

/** An actor as the audit trail stores it. A Bearer token's principal (issue 11) is expected to
 * act as `{ type: 'token', id: null, subject: <sub> }`: the trail records it as it is. */
type AuditedActor = { type: ApiAuditEvent['actor']['type']; id: string | null; subject?: string | null };

const audited = (actor: ActorRow): AuditedActor => actor as AuditedActor;

function toApiActor(actor: AuditedActor): ApiAuditEvent['actor'] {
  return { type: actor.type, id: actor.id, subject: actor.subject ?? null };
}

function toApiAuditEvent(row: AuditEventRow): ApiAuditEvent {
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    action: row.action as AuditAction,
    actor: toApiActor(row.actor as unknown as AuditedActor),
    target: { type: row.target_type as ApiAuditEvent['target']['type'], id: row.target_id },
    connection_id: row.connection_id,
    changed_fields: row.changed_fields,
    details: row.details as unknown as ApiAuditEvent['details'],
    request_id: row.request_id,
    client_request_id: row.client_request_id,
    occurred_at: iso(row.occurred_at),
  };
}

/**
 * Whether a connection change goes to the audit trail: it wrote credentials or an endpoint
 * setting (`credentialsTouched`), or a token authorised it. The Bearer-token principal sets
 * `actor.type = 'token'` (and `actor.subject`); nothing else is needed for its changes to be
 * recorded.
 */
export function auditsConnectionChange(actor: ActorRow, credentialsTouched: boolean): boolean {
  return credentialsTouched || audited(actor).type === 'token';
}

export class AuditService {
  private readonly repository: AuditRepository;

  constructor(db: Db) {
    this.repository = new AuditRepository(db);
  }

  /** Records one entry; inside the change's transaction when `tx` is given. */
  async record(acting: Acting, entry: AuditEntry, tx?: Db): Promise<void> {
    const repository = tx ? new AuditRepository(tx) : this.repository;
    await repository.insert({
      id: newId('aud'),
      tenant_id: entry.tenantId,
      action: entry.action,
      actor: JSON.stringify(toApiActor(audited(acting.actor))),
      target_type: entry.target.type,
      target_id: entry.target.id,
      connection_id: entry.connectionId ?? null,
      changed_fields: entry.changed ?? [],
      details: JSON.stringify(entry.details ?? {}),
      request_id: acting.serverRequestId,
      client_request_id: acting.clientRequestId ?? null,
      occurred_at: entry.at ?? new Date(),
    });
  }

  /** A use of the bootstrap key, in the tenant it names (when that is a tenant id) or at the
   * platform level. The path is recorded, never a header or a body. */
  recordBootstrapUse(serverRequestId: string, clientRequestId: string | null, method: string, path: string, tenantHeader: string | undefined): Promise<void> {
    const tenantId = tenantHeader !== undefined && /^ten_[0-9a-z]{26}$/.test(tenantHeader) ? tenantHeader : null;
    return this.record(
      { actor: { type: 'bootstrap_admin', id: null }, serverRequestId, clientRequestId, scopes: [] },
      { tenantId, action: 'bootstrap_key.used', target: { type: 'request', id: null }, details: { method, path } },
    );
  }

  /** listAuditEvents: a tenant's entries, newest first; the cursor is bound to the filters. */
  async list(tenantId: string, query: ListAuditEventsQuery): Promise<{ data: ApiAuditEvent[]; next_cursor: string | null }> {
    const limit = query.limit ?? 50;
    const filter: AuditFilter = {
      ...(query.action?.length ? { action: [...query.action].sort() } : {}),
      ...(query.actor_type !== undefined ? { actorType: query.actor_type } : {}),
      ...(query.actor_id !== undefined ? { actorId: query.actor_id } : {}),
      ...(query.connection_id !== undefined ? { connectionId: query.connection_id } : {}),
      ...(query.occurred_after !== undefined ? { occurredAfter: new Date(query.occurred_after) } : {}),
      ...(query.occurred_before !== undefined ? { occurredBefore: new Date(query.occurred_before) } : {}),
    };
    const list = `audit:${tenantId}`;
    const filterKey = JSON.stringify([filter.action, filter.actorType, filter.actorId, filter.connectionId, query.occurred_after, query.occurred_before]);
    let before: { at: Date; id: string } | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, list);
      if (!position || position.f !== filterKey || typeof position.at !== 'string' || typeof position.id !== 'string') {
        throw invalidCursor('The cursor does not belong to this list with these filters.');
      }
      before = { at: new Date(position.at), id: position.id };
    }
    const rows = await this.repository.list(tenantId, filter, before, limit);
    const data = rows.slice(0, limit);
    const last = data.at(-1);
    return {
      data: data.map(toApiAuditEvent),
      next_cursor: rows.length > limit && last ? encodeCursor(list, { f: filterKey, at: iso(last.occurred_at), id: last.id }) : null,
    };
  }
}
