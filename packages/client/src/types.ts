/**
 * The shapes the resource helpers take and return, named once, all derived from the spec's
 * generated types (never written by hand): what a caller reads has no writeOnly member,
 * what a caller sends has no readOnly one.
 */
import type { connections, QueryParams, RequestBody, ResponseBody } from '@patchbay/api-types';

/** A connection as the API returns it: credentials never, `credentials_summary` instead. */
export type Connection = ResponseBody<'getConnection', 200>;
/** A page of listConnections. */
export type ConnectionList = ResponseBody<'listConnections', 200>;
/** One entry of a connection's audit trail (listConnectionEvents). */
export type ConnectionEvent = ResponseBody<'listConnectionEvents', 200>['data'][number];
/** A page of listConnectionEvents. */
export type ConnectionEventList = ResponseBody<'listConnectionEvents', 200>;
/** A provider of the catalog (getProvider). */
export type Provider = ResponseBody<'getProvider', 200>;
/** A page of listProviders. */
export type ProviderList = ResponseBody<'listProviders', 200>;
/** A recorded sync run (reportSyncRun). */
export type SyncRun = ResponseBody<'reportSyncRun', 201>;

type ReadOnlyKeys<T> = { [K in keyof T]-?: NonNullable<T[K]> extends connections.$Read<any> ? K : never }[keyof T];
/** The members of a connection that only the server sets (id, version, created_at...). */
export type ConnectionReadOnlyMember = ReadOnlyKeys<connections.components['schemas']['Connection']>;
/**
 * A request body in which a connection's readOnly members are `never`: the request schemas
 * already leave them out, and this also refuses them when a connection read earlier is
 * spread into a body (`{ ...current, priority: 5 }`), which excess-property checks miss.
 */
export type Sendable<T> = T & { [K in Exclude<ConnectionReadOnlyMember, keyof T>]?: never };

/** createConnection's body. */
export type ConnectionCreate = Sendable<RequestBody<'createConnection'>>;
/** updateConnection's body: a JSON merge patch (RFC 7396); `null` clears a member. */
export type ConnectionPatch = Sendable<RequestBody<'updateConnection'>>;
/** replaceConnection's body. */
export type ConnectionReplace = Sendable<RequestBody<'replaceConnection'>>;
/** upsertProviderConnection's body. */
export type ConnectionUpsert = Sendable<RequestBody<'upsertProviderConnection'>>;
/** The secret fields of a connection, write-only (replaceConnectionCredentials). */
export type Credentials = RequestBody<'replaceConnectionCredentials'>['credentials'];
/** reportSyncRun's body. */
export type SyncRunReport = RequestBody<'reportSyncRun'>;

/** listConnections' filters, sort and page size (the cursor is the paginator's business). */
export type ListConnectionsQuery = Omit<QueryParams<'listConnections'>, 'cursor'>;
export type ListProvidersQuery = Omit<QueryParams<'listProviders'>, 'cursor'>;
export type ListConnectionEventsQuery = Omit<QueryParams<'listConnectionEvents'>, 'cursor'>;
