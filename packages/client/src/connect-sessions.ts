/**
 * connectSessions (issue 14): one-time links to the page Patchbay serves where your end user
 * enters a connection's credentials themselves. Create a session, redirect the end user to
 * its `url` (shown once), and read the result when they come back to your return_url.
 */
import type { QueryParams, RequestBody, ResponseBody } from '@patchbay/api-types';
import { PatchbayError } from './errors.js';
import { Paginator, type Page } from './pagination.js';
import type { CallOptions, InitFor, RawClient } from './resources.js';

export type ConnectSession = ResponseBody<'getConnectSession', 200>;
export type ConnectSessionCreate = RequestBody<'createConnectSession'>;
/** A new session: `url` is its one-time link, in this reply only. */
export type ConnectSessionCreated = ResponseBody<'createConnectSession', 201>;

export interface ConnectSessionsResource {
  /** createConnectSession: needs connect_sessions:write; return_url's origin must be on the tenant's allow-list. */
  create(body: ConnectSessionCreate, options?: CallOptions): Promise<ConnectSessionCreated>;
  /** getConnectSession: its status and, once completed, the connection ids. */
  get(sessionId: string, options?: CallOptions): Promise<ConnectSession>;
  /** cancelConnectSession: ends a pending session (its link then changes nothing). */
  cancel(sessionId: string, options?: CallOptions): Promise<ConnectSession>;
  /** listConnectSessions, every page (newest first). */
  list(query?: QueryParams<'listConnectSessions'>, options?: CallOptions): Paginator<ConnectSession>;
  /** listConnectSessions, one page. */
  listPage(query?: QueryParams<'listConnectSessions'>, options?: CallOptions): Promise<Page<ConnectSession>>;
}

type Result<T> = { data?: T; error?: unknown; response: Response };

async function unwrap<T>(pending: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok) throw PatchbayError.fromResponse(response, error);
  return data as T;
}

export function connectSessionsResource(raw: RawClient, init: InitFor): ConnectSessionsResource {
  const listPage = (query: QueryParams<'listConnectSessions'> = {}, options?: CallOptions) => unwrap(raw.GET('/v1/connect-sessions', { params: { query }, ...init(options) }));
  return {
    create: (body, options) => unwrap(raw.POST('/v1/connect-sessions', { body, ...init(options) })),
    get: (sessionId, options) => unwrap(raw.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId } }, ...init(options) })),
    cancel: (sessionId, options) => unwrap(raw.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId } }, ...init(options) })),
    list: (query = {}, options) => Paginator.over((q) => listPage(q, options), query),
    listPage,
  };
}
