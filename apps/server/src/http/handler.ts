/**
 * The typed contract between the spec and the code: a handler per operationId, whose
 * input and reply types are generated from the spec. Handlers return their success reply;
 * expected failures are thrown as DomainErrors (or, for what only HTTP knows, HttpProblems).
 */
import type { Request, Response } from 'express';
import type { Operation, OperationId, PathParams, QueryParams, ReceivedRequestBody, Readable, SuccessStatus } from '@patchbay/api-types';
import type { Logger } from '../platform/logger.js';
import type { Services } from '../runtime.js';
import type { Principal } from './request-context.js';
import type { Acting, Caller } from '../platform/caller.js';

type ContentOf<T> = T extends { content: infer C } ? Readable<C[keyof C]> : undefined;

/** One success reply of operation K: a documented 2xx status and its body. */
export type Reply<K extends OperationId> = {
  [S in SuccessStatus<K>]: { status: S; body: ContentOf<Operation<K>['responses'][S]>; headers?: Record<string, string> };
}[SuccessStatus<K>];

/** What a handler receives, already validated against the spec. */
export interface HandlerInput<K extends OperationId> {
  path: PathParams<K>;
  query: QueryParams<K>;
  body: ReceivedRequestBody<K>;
  headers: Request['headers'];
}

/** How a handler turns what its use case returns into its reply: given to `caller`/`acting`
 * by the operations that honour Idempotency-Key, so the reply can be stored inside the use
 * case's transaction (decision 0020). */
export type ReplyOf<T> = (outcome: T) => { status: number; body: unknown; headers?: Record<string, string> };

/** Who asks and with what tools. */
export interface HandlerContext {
  services: Services;
  principal: Principal | undefined;
  /** The tenant the request acts in, as a use-case caller; a 400 when there is none
   * (an admin key that did not name one with X-Tenant-Id). */
  caller: <T>(replyOf?: ReplyOf<T>) => Caller;
  /** Who acts and in which request, without a tenant (the admin API): for the audit trail
   * and the key use cases. A 401 was sent before a handler runs without a principal. */
  acting: <T>(replyOf?: ReplyOf<T>) => Acting;
  requestId: string;
  log: Logger;
  req: Request;
  res: Response;
}

export type Handler<K extends OperationId> = (input: HandlerInput<K>, ctx: HandlerContext) => Promise<Reply<K>> | Reply<K>;

/** Exactly one handler per operation of every API: a missing or an extra one does not compile. */
export type Handlers = { [K in OperationId]: Handler<K> };
