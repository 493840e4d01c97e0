/**
 * Resource helpers, one per operation of the connections API, named after what they do
 * (`connections.create` is createConnection). They return the resource itself and throw a
 * PatchbayError for any error response, unlike the raw GET/POST, which return openapi-fetch's
 * `{ data, error, response }`.
 */
import type { Client } from 'openapi-fetch';
import type { AllPaths, QueryParams } from '@patchbay/api-types';
import { PatchbayError, PatchbayPreconditionFailedError } from './errors.js';
import { Paginator, type Page } from './pagination.js';
import { newIdempotencyKey, type TransportCallOptions } from './transport.js';
import type {
  AuditEvent,
  Connection,
  ConnectionCreate,
  ConnectionEvent,
  ConnectionPatch,
  ConnectionReplace,
  ConnectionUpsert,
  Credentials,
  ListAuditEventsQuery,
  ListConnectionEventsQuery,
  ListConnectionsQuery,
  ListProvidersQuery,
  Provider,
  SyncRun,
  SyncRunReport,
} from './types.js';

export type RawClient = Client<AllPaths, `${string}/${string}`>;

/** What any helper call may set for itself. */
export interface CallOptions extends TransportCallOptions {
  /** Aborts the call (an AbortError is thrown as is, never retried). */
  signal?: AbortSignal;
  /** Extra headers for this call. */
  headers?: Record<string, string>;
  /** X-Tenant-Id for this call: an admin key acting inside one tenant. */
  tenantId?: string;
}

/**
 * The version a write expects the connection to be at: a connection read earlier, its
 * `version`, or an ETag as the API sent it (`"3"`); `*` means "any existing version".
 */
export type IfMatch = { version: number } | number | string;

export interface WriteOptions extends CallOptions {
  /** Sent as If-Match: the write fails with PatchbayPreconditionFailedError (412) if the connection moved on. */
  ifMatch?: IfMatch;
}

export interface CreateOptions extends CallOptions {
  /** Overrides the Idempotency-Key generated for this call (kept across its retries either way). */
  idempotencyKey?: string;
}

export interface ModifyOptions extends CallOptions {
  /** How many times to read again and re-apply the change after a 412 (default 0: the 412 is thrown). */
  maxConflictRetries?: number;
}

/** The outcome of an upsert by natural key: the connection, and whether it was created (201) or updated (200). */
export interface UpsertResult {
  connection: Connection;
  created: boolean;
}

/** The pieces of openapi-fetch's init every helper passes: the call's fetch, signal and headers. */
export type InitFor = (options: CallOptions | undefined, headers?: Record<string, string>) => {
  fetch: (request: Request) => Promise<Response>;
  signal?: AbortSignal;
  headers: Record<string, string>;
};

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The body of a success, or the error response as a PatchbayError. */
async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw PatchbayError.fromResponse(response, error);
  return data as T;
}

/** The Idempotency-Key of a create: the caller's, or a new one (the transport keeps it across retries). */
function idempotencyKeyHeader(options: CreateOptions | undefined): Record<string, string> {
  return { 'Idempotency-Key': options?.idempotencyKey ?? newIdempotencyKey() };
}

/** The If-Match header for an expected version (a bare number is quoted: ETags are quoted strings). */
export function ifMatchHeader(ifMatch: IfMatch | undefined): Record<string, string> {
  if (ifMatch === undefined) return {};
  if (typeof ifMatch === 'object') return { 'If-Match': `"${ifMatch.version}"` };
  const value = String(ifMatch);
  return { 'If-Match': /^\d+$/.test(value) ? `"${value}"` : value };
}

export interface ConnectionsResource {
  /** listConnections, every page: `for await (const c of patchbay.connections.list({ status: ['active'] }))`. */
  list(query?: ListConnectionsQuery, options?: CallOptions): Paginator<Connection>;
  /** listConnections, one page: pass the previous page's `next_cursor` as `cursor`. */
  listPage(query?: QueryParams<'listConnections'>, options?: CallOptions): Promise<Page<Connection>>;
  /** getConnection. */
  get(connectionId: string, options?: CallOptions): Promise<Connection>;
  /**
   * createConnection, with an Idempotency-Key generated (or given) and kept across retries.
   * A literal `provider` of the catalog types `credentials` and `settings` as that provider's.
   */
  create<P extends string>(body: ConnectionCreate<P>, options?: CreateOptions): Promise<Connection>;
  /**
   * updateConnection: a JSON merge patch; give `ifMatch` to refuse to overwrite someone else's
   * change. The patch does not name the provider: `update<'stripe'>(id, patch)` types its
   * `credentials` and `settings` as Stripe's; without it they are open maps.
   */
  update<P extends string = string>(connectionId: string, patch: ConnectionPatch<P>, options?: WriteOptions): Promise<Connection>;
  /**
   * Reads the connection, asks `change` for a patch of what it read, and sends it with
   * If-Match of the version read: a concurrent change makes it a 412
   * (PatchbayPreconditionFailedError), or, with `maxConflictRetries`, a fresh read and
   * another try. `change` returning undefined writes nothing and returns what was read.
   */
  modify(connectionId: string, change: (current: Connection) => ConnectionPatch | undefined | Promise<ConnectionPatch | undefined>, options?: ModifyOptions): Promise<Connection>;
  /** replaceConnection: every member; those left out take their defaults (credentials are kept). A literal `provider` of the catalog types `credentials` and `settings`. */
  replace<P extends string = string>(connectionId: string, body: ConnectionReplace<P>, options?: WriteOptions): Promise<Connection>;
  /** archiveConnection: credentials destroyed, row kept, reference free again; answers the archived connection. */
  archive(connectionId: string, options?: WriteOptions): Promise<Connection>;
  readonly credentials: {
    /**
     * replaceConnectionCredentials: every secret field at once (rotation); pending_auth becomes
     * active when complete. `credentials.replace<'stripe'>(id, ...)` requires Stripe's required
     * fields and refuses others (the server checks them whole here); without it, an open map.
     */
    replace<P extends string = string>(connectionId: string, credentials: Credentials<P>, options?: WriteOptions): Promise<Connection>;
  };
  readonly events: {
    /** listConnectionEvents, every page (newest first). */
    list(connectionId: string, query?: ListConnectionEventsQuery, options?: CallOptions): Paginator<ConnectionEvent>;
    /** listConnectionEvents, one page. */
    listPage(connectionId: string, query?: QueryParams<'listConnectionEvents'>, options?: CallOptions): Promise<Page<ConnectionEvent>>;
  };
  readonly syncRuns: {
    /** reportSyncRun, with an Idempotency-Key generated (or given) and kept across retries. */
    report(connectionId: string, report: SyncRunReport, options?: CreateOptions): Promise<SyncRun>;
  };
}

export interface ProvidersResource {
  /** listProviders, every page. */
  list(query?: ListProvidersQuery, options?: CallOptions): Paginator<Provider>;
  /** listProviders, one page. */
  listPage(query?: QueryParams<'listProviders'>, options?: CallOptions): Promise<Page<Provider>>;
  /** getProvider: its credentials and settings schemas and sync entities. */
  get(slug: string, options?: CallOptions): Promise<Provider>;
  /** getDefaultProviderConnection: the enabled, active connection with the highest priority (404 when none). */
  defaultConnection(slug: string, query?: QueryParams<'getDefaultProviderConnection'>, options?: CallOptions): Promise<Connection>;
  /** upsertProviderConnection: create or update the tenant's connection to `slug` with this reference; a literal `slug` of the catalog types `credentials` and `settings`. */
  upsertByReference<P extends string>(slug: P, reference: string, body: ConnectionUpsert<P>, options?: WriteOptions): Promise<UpsertResult>;
}

export function connectionsResource(raw: RawClient, init: InitFor): ConnectionsResource {
  const path = (connectionId: string) => ({ path: { connectionId } });

  const listPage = (query: QueryParams<'listConnections'> = {}, options?: CallOptions) =>
    unwrap(raw.GET('/v1/connections', { params: { query }, ...init(options) }));
  const get = (connectionId: string, options?: CallOptions) =>
    unwrap(raw.GET('/v1/connections/{connectionId}', { params: path(connectionId), ...init(options) }));
  const update = (connectionId: string, patch: ConnectionPatch, options?: WriteOptions) =>
    unwrap(
      raw.PATCH('/v1/connections/{connectionId}', {
        params: path(connectionId),
        body: patch,
        ...init(options, { 'Content-Type': 'application/merge-patch+json', ...ifMatchHeader(options?.ifMatch) }),
      }),
    );
  const eventsPage = (connectionId: string, query: QueryParams<'listConnectionEvents'> = {}, options?: CallOptions) =>
    unwrap(raw.GET('/v1/connections/{connectionId}/events', { params: { ...path(connectionId), query }, ...init(options) }));

  return {
    list: (query = {}, options) => Paginator.over((q) => listPage(q, options), query),
    listPage,
    get,
    create: (body, options) =>
      unwrap(raw.POST('/v1/connections', { body, ...init(options, idempotencyKeyHeader(options)) })),
    update,
    async modify(connectionId, change, options = {}) {
      for (let conflicts = 0; ; conflicts++) {
        const current = await get(connectionId, options);
        const patch = await change(current);
        if (patch === undefined) return current;
        try {
          return await update(connectionId, patch, { ...options, ifMatch: current });
        } catch (error) {
          if (!(error instanceof PatchbayPreconditionFailedError) || conflicts >= (options.maxConflictRetries ?? 0)) throw error;
        }
      }
    },
    replace: (connectionId, body, options) =>
      unwrap(raw.PUT('/v1/connections/{connectionId}', { params: path(connectionId), body, ...init(options, ifMatchHeader(options?.ifMatch)) })),
    archive: (connectionId, options) =>
      unwrap(raw.DELETE('/v1/connections/{connectionId}', { params: path(connectionId), ...init(options, ifMatchHeader(options?.ifMatch)) })),
    credentials: {
      replace: (connectionId, credentials, options) =>
        unwrap(
          raw.PUT('/v1/connections/{connectionId}/credentials', { params: path(connectionId), body: { credentials }, ...init(options, ifMatchHeader(options?.ifMatch)) }),
        ),
    },
    events: {
      list: (connectionId, query = {}, options) => Paginator.over((q) => eventsPage(connectionId, q, options), query),
      listPage: eventsPage,
    },
    syncRuns: {
      report: (connectionId, report, options) =>
        unwrap(
          raw.POST('/v1/connections/{connectionId}/sync-runs', {
            params: path(connectionId),
            body: report,
            ...init(options, idempotencyKeyHeader(options)),
          }),
        ),
    },
  };
}

export function providersResource(raw: RawClient, init: InitFor): ProvidersResource {
  const listPage = (query: QueryParams<'listProviders'> = {}, options?: CallOptions) =>
    unwrap(raw.GET('/v1/providers', { params: { query }, ...init(options) }));
  return {
    list: (query = {}, options) => Paginator.over((q) => listPage(q, options), query),
    listPage,
    get: (slug, options) => unwrap(raw.GET('/v1/providers/{slug}', { params: { path: { slug } }, ...init(options) })),
    defaultConnection: (slug, query = {}, options) =>
      unwrap(raw.GET('/v1/providers/{slug}/default-connection', { params: { path: { slug }, query }, ...init(options) })),
    async upsertByReference(slug, reference, body, options) {
      const result = await raw.PUT('/v1/providers/{slug}/connections/{reference}', {
        params: { path: { slug, reference } },
        body,
        ...init(options, ifMatchHeader(options?.ifMatch)),
      });
      const connection = await unwrap(Promise.resolve(result));
      return { connection, created: result.response.status === 201 };
    },
  };
}

export interface AuditEventsResource {
  /** listAuditEvents, every page (newest first): needs audit:read; a platform key names the tenant with `tenantId`. */
  list(query?: ListAuditEventsQuery, options?: CallOptions): Paginator<AuditEvent>;
  /** listAuditEvents, one page. */
  listPage(query?: QueryParams<'listAuditEvents'>, options?: CallOptions): Promise<Page<AuditEvent>>;
}

export function auditEventsResource(raw: RawClient, init: InitFor): AuditEventsResource {
  const listPage = (query: QueryParams<'listAuditEvents'> = {}, options?: CallOptions) => unwrap(raw.GET('/v1/audit-events', { params: { query }, ...init(options) }));
  return {
    list: (query = {}, options) => Paginator.over((q) => listPage(q, options), query),
    listPage,
  };
}
