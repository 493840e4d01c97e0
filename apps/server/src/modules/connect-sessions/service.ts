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
import type { Acting, Caller } from '../../platform/caller.js';
import { decodeCursor, encodeCursor } from '../../platform/cursors.js';
import type { Db } from '../../platform/db/database.js';
import type { ConnectSessionBrandingRow, ConnectSessionSlotRow } from '../../platform/db/schema.js';
import { DomainError, invalid, invalidCursor, type FieldIssue } from '../../platform/errors.js';
import { newId } from '../../platform/ids.js';
import { draftFromBody } from '../connections/drafts.js';
import type { ConnectionsService } from '../connections/service.js';
import type { Provider, ProviderCatalog } from '../providers/catalog.js';
import { ConnectSessionsRepository, type ConnectSessionRow } from './repository.js';

export type ApiConnectSession = ConnectionsSchema<'ConnectSession'>;
export type ConnectSessionCreate = ConnectionsSchema<'ConnectSessionCreate'>;

export const DEFAULT_LIFETIME_SECONDS = 1800;

/** What creating a session with a new tenant needs of the tenants feature: the tenant's
 * insert and audit entry, and `within` run in the same transaction. */
export interface TenantCreator {
  createTenant(acting: Acting, name: string, within: (tx: Db, tenant: { id: string }) => Promise<void>): Promise<{ id: string }>;
}

/** Why a link no longer works: each gets a clear page, and nothing changes. */
export type LinkRefusal = 'unknown' | 'expired' | 'completed' | 'cancelled' | 'in_progress' | 'stale_form';

/** One slot as the page shows it: the provider (or the category's choices) and prefilled settings. */
export interface PageSlot {
  index: number;
  provider: Provider | undefined;
  choices: Provider[];
  connectionId: string | undefined;
  /** Re-authorising: the credential fields the connection has set (names only, never values). */
  setFields?: string[];
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
    tenant_id: row.tenant_id,
    status: status(row, now),
    slots: row.slots as ApiConnectSession['slots'],
    environment: row.environment,
    end_user: row.end_user,
    return_url: row.return_url,
    ...(row.branding ? { branding: row.branding } : {}),
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
    /** Called inside the completing transaction with the completed session (the webhook
     * outbox's hook): it commits or rolls back with the connections and the session. */
    private readonly onCompleted?: (tx: Db, caller: Caller, session: ApiConnectSession) => Promise<void>,
  ) {
    this.repository = new ConnectSessionsRepository(db);
  }

  /** Creates a session; `linkBase` is the server's public origin. The token is in `url` only. */
  async create(caller: Caller, body: ConnectSessionCreate, linkBase: string): Promise<ApiConnectSession> {
    const checked = await this.check(caller, body);
    return this.insert(this.repository, caller.tenantId, caller.actor, body, checked, linkBase);
  }

  /**
   * A new tenant and its session in one transaction (a platform principal holding
   * tenants:write; the handler checks it): the body is checked first against the allow-list's
   * entries for every tenant (the new one has none of its own yet), then the tenant, its
   * audit entry and the session are written together or not at all.
   */
  async createWithTenant(acting: Acting, tenants: TenantCreator, body: ConnectSessionCreate, linkBase: string): Promise<ApiConnectSession> {
    const checked = await this.check(undefined, body);
    let created: ApiConnectSession | undefined;
    await tenants.createTenant(acting, body.tenant!.name, async (tx, tenant) => {
      created = await this.insert(new ConnectSessionsRepository(tx), tenant.id, acting.actor, body, checked, linkBase);
    });
    return created!;
  }

  /** The origins a tenant's return_url and logo may have: those for every tenant and its own. */
  private allowedOrigins(tenantId: string | undefined): string[] {
    return [...(this.returnOrigins.get('*') ?? []), ...(tenantId === undefined ? [] : (this.returnOrigins.get(tenantId) ?? []))];
  }

  /** Checks a create's body beyond its schema; a new tenant (no caller) has no connections. */
  private async check(caller: Caller | undefined, body: ConnectSessionCreate): Promise<{ slots: ConnectSessionSlotRow[]; branding: ConnectSessionBrandingRow | null }> {
    const issues: FieldIssue[] = [];
    const allowed = this.allowedOrigins(caller?.tenantId);
    const originOf = (url: string): string | undefined => (URL.canParse(url) ? new URL(url).origin : undefined);
    const returnOrigin = originOf(body.return_url);
    if (returnOrigin === undefined || !allowed.includes(returnOrigin)) issues.push({ pointer: '/return_url', message: 'is not on the allow-list of this tenant' });
    // The logo is the one thing the page loads from elsewhere: from an allow-listed origin only
    // (the CSP's img-src names that origin and nothing else).
    const logo = body.branding?.logo_url;
    if (logo !== undefined) {
      const logoOrigin = originOf(logo);
      if (logoOrigin === undefined || !allowed.includes(logoOrigin)) issues.push({ pointer: '/branding/logo_url', message: 'is not on the allow-list of this tenant' });
    }
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
        else if (!caller) issues.push({ pointer: `${pointer}/connection_id`, message: 'is not a connection of this tenant (a new tenant has none)' });
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
    return { slots, branding: body.branding && Object.keys(body.branding).length ? body.branding : null };
  }

  private async insert(
    repository: ConnectSessionsRepository,
    tenantId: string,
    actor: Caller['actor'],
    body: ConnectSessionCreate,
    checked: { slots: ConnectSessionSlotRow[]; branding: ConnectSessionBrandingRow | null },
    linkBase: string,
  ): Promise<ApiConnectSession> {
    const now = new Date();
    const token = `cst_${randomBytes(32).toString('base64url')}`;
    const row = await repository.insert({
      id: newId('cs'),
      tenant_id: tenantId,
      token_hash: '',
      status: 'pending',
      environment: body.environment ?? 'production',
      slots: checked.slots,
      end_user: body.end_user,
      return_url: body.return_url,
      expires_at: new Date(now.getTime() + (body.expires_in_seconds ?? DEFAULT_LIFETIME_SECONDS) * 1000),
      created_at: now,
      completed_at: null,
      cancelled_at: null,
      connection_ids: [],
      form_token_hash: null,
      created_by: actor,
      branding: checked.branding,
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

  /** A re-authorising slot shows which credential fields are set, as the summary does. */
  private async withSetFields(tenantId: string, slots: PageSlot[]): Promise<PageSlot[]> {
    for (const slot of slots) {
      if (!slot.connectionId) continue;
      const { connection } = await this.connections.get({ tenantId }, slot.connectionId);
      slot.setFields = Object.entries(connection.credentials_summary).filter(([, field]) => field.set).map(([name]) => name);
    }
    return slots;
  }

  /** Opens the page of a link: a fresh form token each time (the form must carry it back). */
  async open(token: string, picks: (string | undefined)[] = []): Promise<OpenedSession | LinkRefusal> {
    const now = new Date();
    const row = await this.repository.byToken(token);
    const refused = this.refusal(row, now);
    if (refused || !row) return refused ?? 'unknown';
    const formToken = randomBytes(24).toString('base64url');
    await this.repository.setFormToken(row.id, formToken);
    return { session: toApi(row, now), slots: await this.withSetFields(row.tenant_id, this.pageSlots(row, picks)), formToken };
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
   * Completes a session with what the end user submitted, all in ONE transaction: the claim
   * of the session (a compare-and-set by token and form token, which holds the row until the
   * end, so of two concurrent submissions exactly one wins and the other finds it used),
   * every slot's connection created or re-authorised (their events, audit entries and
   * webhook outbox rows with them), the session marked completed, and the completion hook
   * (the webhook outbox's connect_session.completed). A field error in any slot rolls it
   * all back: nothing is stored for the other slots, the session stays pending, and the
   * page shows every slot's errors at once.
   */
  async complete(token: string, formToken: string, submissions: SlotSubmission[], request: { serverRequestId: string; requestId: string }): Promise<ApiConnectSession | LinkRefusal> {
    const now = new Date();
    const completed = await this.connections.transaction(async (tx, connections) => {
      const sessions = new ConnectSessionsRepository(tx);
      const claimed = await sessions.claim(token, formToken, now);
      if (!claimed) return undefined;
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
      const refused = () => new SubmissionRefused(bySlot, { session: toApi(claimed, now), slots, formToken });
      for (const slot of slots) {
        if (!slot.provider) bySlot.set(slot.index, [{ pointer: '/provider', message: 'choose a provider' }]);
      }
      if (bySlot.size) throw refused();
      const connectionIds: string[] = [];
      for (const slot of slots) {
        const given = submissions[slot.index] ?? { provider: undefined, credentials: {}, settings: {} };
        const provider = slot.provider!;
        try {
          if (slot.connectionId) {
            const result = await connections.replaceCredentials(caller, slot.connectionId, given.credentials, undefined);
            connectionIds.push(result.connection.id);
          } else {
            const draft = draftFromBody({ environment: claimed.environment, settings: given.settings, metadata: { connect_session_id: claimed.id, end_user_id: claimed.end_user.id.slice(0, 200) } }, provider);
            const result = await connections.create(caller, provider.slug, draft, given.credentials);
            connectionIds.push(result.connection.id);
          }
        } catch (error) {
          // A field error is found before the slot writes anything: go on to the next slot so
          // the page shows them all; the transaction is rolled back below.
          if (error instanceof DomainError && error.issues) bySlot.set(slot.index, error.issues);
          else throw error;
        }
      }
      if (bySlot.size) throw refused();
      const session = toApi(await sessions.complete(claimed.id, connectionIds, new Date()));
      if (this.onCompleted) await this.onCompleted(tx, caller, session);
      return session;
    });
    if (completed) return completed;
    // Not claimed: looked at after the transaction (on PGlite's one connection, a query outside
    // an open transaction would wait for it).
    const row = await this.repository.byToken(token);
    // Pending, but not with this page's form token: a forged post, or a page since reloaded.
    return this.refusal(row, now) ?? 'stale_form';
  }
}
