/**
 * The shapes the resource helpers take and return, named once, all derived from the spec's
 * generated types (never written by hand): what a caller reads has no writeOnly member,
 * what a caller sends has no readOnly one.
 */
import type { connections, ProviderCredentials, ProviderSettings, ProviderSlug, QueryParams, RequestBody, ResponseBody } from '@patchbay/api-types';

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

// ---- a provider's own credentials and settings ----------------------------------------
// The bodies below take the provider as a type parameter `P`, inferred from a literal
// `provider` (or the slug of upsertByReference) and given explicitly where the body does not
// name it. A slug of the catalog gets that provider's schemas (generated from
// specs/providers/ into @patchbay/api-types); any other string, a variable of type `string`
// included, keeps the open maps the API declares, since the server checks them at run time.
// The types refuse only what the server refuses (apps/server .../connections/service.ts):
// credentials are checked as complete only by replaceConnectionCredentials (elsewhere some
// may be missing and the connection waits in pending_auth), settings are checked whole
// wherever a body replaces them (create, replace) and merged first on a patch or upsert.

type Open<T> = NonNullable<T>;
type OpenCredentials = Open<RequestBody<'replaceConnectionCredentials'>['credentials']>;
type OpenSettings = Open<RequestBody<'createConnection'>['settings']>;
/** The credentials of provider `P` (`string`, or a slug outside the catalog: an open map), all it requires required (replaceConnectionCredentials). */
export type CredentialsOf<P extends string = string> = P extends ProviderSlug ? ProviderCredentials[P] : OpenCredentials;
/** The settings of provider `P`, with the members its schema requires. */
export type SettingsOf<P extends string = string> = P extends ProviderSlug ? ProviderSettings[P] : OpenSettings;
/** Some of `T`'s members: what a create, replace or upsert may send of the credentials. */
type Some<T> = {} extends T ? T : Partial<T>;
/** A JSON merge patch of `T` (RFC 7396): any member may be left out, and `null` removes one
 * the schema can lose (an optional member, or a key of a map); nested objects are merged. */
export type MergePatchOf<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: MergePatchOf<T[K]> | (string extends K ? null : undefined extends T[K] ? null : never) }
    : T;

/** `settings` where a body replaces them whole: required when provider `P`'s schema requires a member (the server checks `{}` against it). */
type WholeSettings<P extends string> = P extends ProviderSlug
  ? {} extends ProviderSettings[P]
    ? { settings?: ProviderSettings[P] }
    : { settings: ProviderSettings[P] }
  : { settings?: OpenSettings };
/** `credentials` where some may be missing (create, replace, upsert). */
type SomeCredentials<P extends string> = { credentials?: P extends ProviderSlug ? Some<ProviderCredentials[P]> : OpenCredentials };

/** createConnection's body; `provider` a slug of the catalog types `credentials` and `settings`. */
export type ConnectionCreate<P extends string = string> = Sendable<
  Omit<RequestBody<'createConnection'>, 'provider' | 'credentials' | 'settings'> & { provider: P } & SomeCredentials<P> & WholeSettings<P>
>;
/**
 * updateConnection's body: a JSON merge patch (RFC 7396); `null` clears a member. The patch
 * does not name the provider: give it as `update<'stripe'>(...)` to type `credentials` and
 * `settings` (as merge patches of that provider's), or leave it out for open maps.
 */
export type ConnectionPatch<P extends string = string> = Sendable<
  [P] extends [ProviderSlug]
    ? Omit<RequestBody<'updateConnection'>, 'credentials' | 'settings'> & {
        credentials?: { [K in keyof CredentialsOf<P>]?: CredentialsOf<P>[K] | null } | null;
        settings?: MergePatchOf<SettingsOf<P>> | ({} extends SettingsOf<P> ? null : never);
      }
    : RequestBody<'updateConnection'>
>;
/** replaceConnection's body; `provider`, when given as a slug of the catalog, types `credentials` and `settings`. */
export type ConnectionReplace<P extends string = string> = Sendable<
  Omit<RequestBody<'replaceConnection'>, 'provider' | 'credentials' | 'settings'> & { provider?: P } & SomeCredentials<P> & WholeSettings<P>
>;
/** upsertProviderConnection's body, typed by the slug in its path: on update `settings` are merged, so none is required. */
export type ConnectionUpsert<P extends string = string> = Sendable<
  Omit<RequestBody<'upsertProviderConnection'>, 'credentials' | 'settings'> &
    SomeCredentials<P> & { settings?: P extends ProviderSlug ? MergePatchOf<ProviderSettings[P]> : OpenSettings }
>;
/** The secret fields of a connection, write-only (replaceConnectionCredentials): all that provider `P` requires. */
export type Credentials<P extends string = string> = CredentialsOf<P>;
/** reportSyncRun's body. */
export type SyncRunReport = RequestBody<'reportSyncRun'>;

/** listConnections' filters, sort and page size (the cursor is the paginator's business). */
export type ListConnectionsQuery = Omit<QueryParams<'listConnections'>, 'cursor'>;
export type ListProvidersQuery = Omit<QueryParams<'listProviders'>, 'cursor'>;
export type ListConnectionEventsQuery = Omit<QueryParams<'listConnectionEvents'>, 'cursor'>;
/** One entry of a tenant's audit trail (listAuditEvents): never a secret. */
export type AuditEvent = ResponseBody<'listAuditEvents', 200>['data'][number];
/** listAuditEvents' filters and page size. */
export type ListAuditEventsQuery = Omit<QueryParams<'listAuditEvents'>, 'cursor'>;
