/**
 * Connect sessions (issue 14): a tenant asks for a one-time link; its end user opens the page
 * Patchbay serves there and enters a connection's credentials, which go straight to Patchbay.
 * The token is shown once (in the link), stored as a hash, works once and until it expires.
 * Completing a session creates (or re-authorises) each slot's connection through the
 * connections use cases, with the session as actor, so it is validated, encrypted and
 * recorded exactly as through the API.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectionsSchema } from '@patchbay/api-types';
import type { Caller } from '../../platform/caller.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import type { Db } from '../../platform/db/database.js';
import type { ConnectSessionSlotRow } from '../../platform/db/schema.js';
import { DomainError, invalid, invalidCursor, type FieldIssue } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { draftFromBody } from '../connections/drafts.js';
import type { ConnectionsService } from '../connections/service.js';
import type { Provider, ProviderCatalog } from '../providers/catalog.js';
import { ConnectSessionsRepository, type ConnectSessionRow } from './repository.js';

export type ApiConnectSession = ConnectionsSchema<'ConnectSession'>;
export type ConnectSessionCreate = ConnectionsSchema<'ConnectSessionCreate'>;

export const DEFAULT_LIFETIME_SECONDS = 1800;

/** Why a link no longer works: each gets a clear page, and nothing changes. */
export type LinkRefusal = 'unknown' | 'expired' | 'completed' | 'cancelled' | 'in_progress' | 'stale_form';

/** One slot as the page shows it: the provider (or the category's choices) and prefilled settings. */
export interface PageSlot {
  index: number;
  provider: Provider | undefined;
  choices: Provider[];
  connectionId: string | undefined;
  settings: Record<string, unknown>;
}

export interface OpenedSession {
  session: ApiConnectSession;
  slots: PageSlot[];
  formToken: string;
}

/** What the end user submitted for one slot: the provider picked, and the form's strings. */
export interface SlotSubmission {
  provider: string | undefined;
  credentials: Record<string, string>;
  settings: Record<string, unknown>;
}

/** A refused submission: the issues per slot, pointers into that slot's connection body. */
export class SubmissionRefused extends Error {
  constructor(readonly bySlot: Map<number, FieldIssue[]>, readonly opened: OpenedSession) {
    super('The submission is not valid.');
  }
}

const status = (row: ConnectSessionRow, now: Date): ApiConnectSession['status'] =>
  row.status === 'completed' ? 'completed' : row.status === 'cancelled' ? 'cancelled' : new Date(row.expires_at) <= now ? 'expired' : 'pending';

const iso = (value: Date | string | null): string | null => (value === null ? null : new Date(value).toISOString());

export function toApi(row: ConnectSessionRow, now = new Date()): ApiConnectSession {
  return {
    id: row.id,
    status: status(row, now),
    slots: row.slots as ApiConnectSession['slots'],
    environment: row.environment,
    end_user: row.end_user,
    return_url: row.return_url,
    expires_at: iso(row.expires_at)!,
    created_at: iso(row.created_at)!,
    completed_at: iso(row.completed_at),
    cancelled_at: iso(row.cancelled_at),
    connection_ids: row.connection_ids,
  };
}

export class ConnectSessionsService {
  private readonly repository: ConnectSessionsRepository;

  constructor(
    db: Db,
    private readonly catalog: ProviderCatalog,
    private readonly connections: ConnectionsService,
    private readonly returnOrigins: ReadonlyMap<string, readonly string[]>,
  ) {
    this.repository = new ConnectSessionsRepository(db);
  }

  /** Creates a session; `linkBase` is the server's public origin. The token is in `url` only. */
  async create(caller: Caller, body: ConnectSessionCreate, linkBase: string): Promise<ApiConnectSession> {
    const issues: FieldIssue[] = [];
    const allowed = [...(this.returnOrigins.get('*') ?? []), ...(this.returnOrigins.get(caller.tenantId) ?? [])];
    const returnOrigin = URL.canParse(body.return_url) ? new URL(body.return_url).origin : undefined;
    if (returnOrigin === undefined || !allowed.includes(returnOrigin)) issues.push({ pointer: '/return_url', message: 'is not on the allow-list of this tenant' });
    const environment = body.environment ?? 'production';
    const slots: ConnectSessionSlotRow[] = [];
    for (const [index, slot] of body.slots.entries()) {
      const pointer = `/slots/${index}`;
      if ((slot.provider === undefined) === (slot.category === undefined)) {
        issues.push({ pointer, message: 'must name exactly one of provider and category' });
        continue;
      }
      if (slot.provider !== undefined && !this.catalog.get(slot.provider)) issues.push({ pointer: `${pointer}/provider`, message: 'is not a provider in the catalog (see GET /v1/providers)' });
      if (slot.category !== undefined && !this.catalog.all().some((p) => p.category === slot.category)) issues.push({ pointer: `${pointer}/category`, message: 'has no provider in the catalog' });
      if (slot.connection_id !== undefined) {
        if (slot.provider === undefined) issues.push({ pointer: `${pointer}/connection_id`, message: 'needs the slot to name its provider' });
        else {
          const existing = await this.connections.get(caller, slot.connection_id).catch((error: unknown) => {
            if (error instanceof DomainError && error.code === 'not_found') return undefined;
            throw error;
          });
          if (!existing) issues.push({ pointer: `${pointer}/connection_id`, message: 'is not a connection of this tenant' });
          else if (existing.connection.provider !== slot.provider) issues.push({ pointer: `${pointer}/connection_id`, message: `is a connection of ${existing.connection.provider}, not ${slot.provider}` });
        }
      }
      slots.push(slot as ConnectSessionSlotRow);
    }
    if (issues.length) throw invalid(issues);
    const now = new Date();
    const token = `cst_${randomBytes(32).toString('base64url')}`;
    const row = await this.repository.insert({
      id: newId('cs'),
      tenant_id: caller.tenantId,
      token_hash: '',
      status: 'pending',
      environment,
      slots,
      end_user: body.end_user,
      return_url: body.return_url,
      expires_at: new Date(now.getTime() + (body.expires_in_seconds ?? DEFAULT_LIFETIME_SECONDS) * 1000),
      created_at: now,
      completed_at: null,
      cancelled_at: null,
      connection_ids: [],
      form_token_hash: null,
      created_by: caller.actor,
    }, token);
    return { ...toApi(row, now), url: `${linkBase.replace(/\/$/, '')}/connect/${token}` };
  }

  async get(caller: Pick<Caller, 'tenantId'>, id: string): Promise<ApiConnectSession> {
    const row = await this.repository.find(caller.tenantId, id);
    if (!row) throw new DomainError('not_found', `No connect session ${id} in this tenant.`);
    return toApi(row);
  }

  async list(caller: Pick<Caller, 'tenantId'>, query: { limit?: number; cursor?: string }): Promise<{ data: ApiConnectSession[]; next_cursor: string | null }> {
    const limit = query.limit ?? 50;
    let before: string | undefined;
    if (query.cursor !== undefined) {
      const position = decodeCursor(query.cursor, 'connect_sessions');
      if (!position || typeof position.before !== 'string') throw invalidCursor();
      before = position.before;
    }
    const rows = await this.repository.list(caller.tenantId, before, limit);
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return { data: page.map((row) => toApi(row)), next_cursor: rows.length > limit && last ? encodeCursor('connect_sessions', { before: last.id }) : null };
  }

  async cancel(caller: Pick<Caller, 'tenantId'>, id: string): Promise<ApiConnectSession> {
    const now = new Date();
    const cancelled = await this.repository.cancel(caller.tenantId, id, now);
    if (cancelled) return toApi(cancelled, now);
    const current = await this.get(caller, id);
    if (current.status === 'cancelled') return current;
    throw new DomainError('conflict', `Connect session ${id} is ${current.status === 'pending' ? 'being completed' : current.status}; only a pending session can be cancelled.`);
  }

  /** Why a token does not open a page, or undefined when it does. */
  private refusal(row: ConnectSessionRow | undefined, now: Date): LinkRefusal | undefined {
    if (!row) return 'unknown';
    if (row.status === 'completing') return 'in_progress';
    const state = status(row, now);
    return state === 'pending' ? undefined : state;
  }

  private pageSlots(row: ConnectSessionRow, picks: (string | undefined)[] = []): PageSlot[] {
    return row.slots.map((slot, index) => {
      const choices = slot.category !== undefined ? this.catalog.all().filter((p) => p.category === slot.category && p.environments.includes(row.environment)) : [];
      const slug = slot.provider ?? (picks[index] !== undefined && choices.some((p) => p.slug === picks[index]) ? picks[index] : undefined);
      return { index, provider: slug ? this.catalog.get(slug) : undefined, choices, connectionId: slot.connection_id, settings: slot.settings ?? {} };
    });
  }

  /** Opens the page of a link: a fresh form token each time (the form must carry it back). */
  async open(token: string, picks: (string | undefined)[] = []): Promise<OpenedSession | LinkRefusal> {
    const now = new Date();
    const row = await this.repository.byToken(token);
    const refused = this.refusal(row, now);
    if (refused || !row) return refused ?? 'unknown';
    const formToken = randomBytes(24).toString('base64url');
    await this.repository.setFormToken(row.id, formToken);
    return { session: toApi(row, now), slots: this.pageSlots(row, picks), formToken };
  }

  /** The slots a page of the link shows, without starting a new page view. */
  async preview(token: string, picks: (string | undefined)[] = []): Promise<Omit<OpenedSession, 'formToken'> | LinkRefusal> {
    const now = new Date();
    const row = await this.repository.byToken(token);
    const refused = this.refusal(row, now);
    if (refused || !row) return refused ?? 'unknown';
    return { session: toApi(row, now), slots: this.pageSlots(row, picks) };
  }

  /**
   * Completes a session with what the end user submitted: claims it (single use: of two
   * concurrent submissions one wins, the other is refused), writes each slot's connection,
   * and marks it completed. A refused submission gives the session back for the end user to
   * correct. Known gap: in a session of several slots, a later slot refused after an earlier
   * one was written leaves the earlier connection written (one transaction across slots
   * needs the connections use cases to take an outer transaction).
   */
  async complete(token: string, formToken: string, submissions: SlotSubmission[], request: { serverRequestId: string; requestId: string }): Promise<ApiConnectSession | LinkRefusal> {
    const now = new Date();
    const claimed = await this.repository.claim(token, formToken, now);
    if (!claimed) {
      const row = await this.repository.byToken(token);
      // Pending, but not with this page's form token: a forged post, or a page since reloaded.
      return this.refusal(row, now) ?? 'stale_form';
    }
    try {
      const caller: Caller = {
        tenantId: claimed.tenant_id,
        actor: { type: 'connect_session', id: claimed.id },
        serverRequestId: request.serverRequestId,
        clientRequestId: null,
        requestId: request.requestId,
        scopes: ['connections:read', 'connections:write', 'credentials:write'],
      };
      const slots = this.pageSlots(claimed, submissions.map((s) => s.provider));
      const bySlot = new Map<number, FieldIssue[]>();
      for (const slot of slots) {
        if (!slot.provider) bySlot.set(slot.index, [{ pointer: '/provider', message: 'choose a provider' }]);
      }
      if (bySlot.size) throw new SubmissionRefused(bySlot, { session: toApi(claimed, now), slots, formToken });
      const connectionIds: string[] = [];
      for (const slot of slots) {
        const given = submissions[slot.index] ?? { provider: undefined, credentials: {}, settings: {} };
        const provider = slot.provider!;
        try {
          if (slot.connectionId) {
            const result = await this.connections.replaceCredentials(caller, slot.connectionId, given.credentials, undefined);
            connectionIds.push(result.connection.id);
          } else {
            const draft = draftFromBody({ environment: claimed.environment, settings: given.settings, metadata: { connect_session_id: claimed.id, end_user_id: claimed.end_user.id.slice(0, 200) } }, provider);
            const result = await this.connections.create(caller, provider.slug, draft, given.credentials);
            connectionIds.push(result.connection.id);
          }
        } catch (error) {
          if (error instanceof DomainError && error.issues) {
            bySlot.set(slot.index, error.issues);
            throw new SubmissionRefused(bySlot, { session: toApi(claimed, now), slots, formToken });
          }
          throw error;
        }
      }
      return toApi(await this.repository.complete(claimed.id, connectionIds, new Date()));
    } catch (error) {
      await this.repository.release(claimed.id);
      throw error;
    }
  }
}
