/**
 * Routes a validated request to its handler by operationId. express-openapi-validator has
 * already matched the path (once), checked the shape and found the API key; here the
 * operation's scopes and tenant are enforced, Idempotency-Key is honoured where the
 * operation declares it, and the handler's reply is written. What each operation declares
 * is read once, at start, by the one walk over the spec (`@patchbay/api-types/operations`).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { OperationId } from '@patchbay/api-types';
import { operationsOf, type SpecOperation } from '@patchbay/api-types/operations';
import type { Acting, BeforeCommit, Caller } from '../platform/caller.js';
import type { Services } from '../runtime.js';
import { refusal } from './auth.js';
import type { Handler, HandlerInput, Handlers, ReplyOf } from './handler.js';
import type { RecordReply, StoredReply } from '../modules/idempotency/service.js';
import { asHttpError } from './problems.js';
import { HttpProblem, type LoadedApi } from '@patchbay/openapi-http';

interface OperationObject {
  operationId: string;
}

const walked = new WeakMap<LoadedApi[], SpecOperation[]>();

/** Every operation of the loaded documents, as the one walk over the spec reads them (once
 * per set of documents: createApp asks four times). */
function operationsOfApis(apis: LoadedApi[]): SpecOperation[] {
  let operations = walked.get(apis);
  if (!operations) walked.set(apis, (operations = apis.flatMap((api) => operationsOf(api.document, api.name))));
  return operations;
}

/** Every operationId of the loaded documents. */
export function operationIdsOf(apis: LoadedApi[]): string[] {
  return operationsOfApis(apis).map((operation) => operation.operationId);
}

/** Fails loudly, naming them, when the spec and the handler map disagree. */
export function assertHandlersMatchSpec(apis: LoadedApi[], handlers: Record<string, unknown>): void {
  const inSpec = new Set(operationIdsOf(apis));
  const missing = [...inSpec].filter((id) => typeof handlers[id] !== 'function');
  const extra = Object.keys(handlers).filter((id) => !inSpec.has(id));
  const lines = [
    ...missing.map((id) => `operation '${id}' is in the spec but has no handler`),
    ...extra.map((id) => `handler '${id}' has no operation in the spec`),
  ];
  if (lines.length) throw new Error(`The handlers do not match the spec:\n  ${lines.join('\n  ')}`);
}

/** Operations that declare a header parameter (case-insensitive). */
function declaring(operations: SpecOperation[], header: string): Set<string> {
  const name = header.toLowerCase();
  return new Set(operations.filter((o) => o.parameters.some((p) => p.in === 'header' && p.name.toLowerCase() === name)).map((o) => o.operationId));
}

/** Operations that declare a header parameter (case-insensitive), read once from the documents. */
export function operationsDeclaringHeader(apis: LoadedApi[], header: string): Set<string> {
  return declaring(operationsOfApis(apis), header);
}

/** The paths of the public operations (`security: []`: the probes), which are never rate-limited. */
export function publicPathsOf(apis: LoadedApi[]): Set<string> {
  return new Set(operationsOfApis(apis).filter((o) => !o.secured).map((o) => o.path));
}

/** What the dispatcher needs to know of each operation beyond its handler. */
export interface OperationTraits {
  /** Operations that honour Idempotency-Key. */
  idempotent: Set<string>;
  /** Operations that act inside the tenant X-Tenant-Id names; elsewhere the header is ignored. */
  tenantScoped: Set<string>;
  /** The scopes each operation needs, by operationId. */
  scopes: Map<string, string[]>;
}

export function operationTraits(apis: LoadedApi[]): OperationTraits {
  const operations = operationsOfApis(apis);
  return {
    idempotent: declaring(operations, 'Idempotency-Key'),
    tenantScoped: declaring(operations, 'X-Tenant-Id'),
    scopes: new Map(operations.map((o) => [o.operationId, o.scopes])),
  };
}

interface OpenApiRequest extends Request {
  openapi?: { schema?: OperationObject; pathParams?: Record<string, string> };
}

export function dispatch(handlers: Handlers, services: Services, { idempotent, tenantScoped, scopes }: OperationTraits): RequestHandler {
  return async (req: OpenApiRequest, res: Response, next: NextFunction) => {
    const operation = req.openapi?.schema;
    const operationId = operation?.operationId as OperationId | undefined;
    if (!operation || !operationId) return next();
    // Each handler is typed against its own operation; here they are all one shape.
    const handler = handlers[operationId] as unknown as
      | ((input: HandlerInput<OperationId>, ctx: Parameters<Handler<OperationId>>[1]) => Promise<{ status: number; headers?: Record<string, string>; body: unknown }>)
      | undefined;
    if (!handler) return next(new HttpProblem('not_found', `No handler for ${operationId}.`));
    try {
      const principal = req.principal;
      if (principal) {
        if (principal.refusedTenantHeader) {
          throw new HttpProblem('forbidden', 'Only a platform key may send X-Tenant-Id; a tenant key acts in its own tenant.', [{ pointer: '/header/x-tenant-id', message: 'is not allowed for this key' }]);
        }
        const refused = refusal(principal, scopes.get(operationId) ?? []);
        if (refused) throw refused;
        // An operation that does not act inside a tenant (the admin API) ignores the header.
        if (principal.tenantFromHeader && principal.tenantId && tenantScoped.has(operationId) && !(await services.tenants.tenantExists(principal.tenantId))) {
          throw new HttpProblem('not_found', `No tenant ${principal.tenantId}.`);
        }
      }
      // With an Idempotency-Key, the reply is stored by the use case's own transaction
      // (decision 0020): the handler says how its use case's outcome becomes its reply.
      let record: RecordReply | undefined;
      const beforeCommit = <T>(replyOf: ReplyOf<T> | undefined): { beforeCommit?: BeforeCommit } => {
        const recordReply = record;
        if (!recordReply || !replyOf) return {};
        return {
          beforeCommit: (tx, outcome, about) => {
            const reply = replyOf(outcome as T);
            return recordReply(tx, { status: reply.status, headers: reply.headers ?? {}, body: reply.body }, about);
          },
        };
      };
      const acting = <T>(replyOf?: ReplyOf<T>): Acting => {
        if (!principal) throw new HttpProblem('unauthenticated', 'Send a valid API key (X-Api-Key, or Authorization: Basic) or a bearer token (Authorization: Bearer <JWT>).');
        return {
          actor: principal.via === 'token' ? { type: 'token', id: null, subject: principal.subject ?? null } : { type: principal.via === 'api_key' ? 'api_key' : 'bootstrap_admin', id: principal.keyId },
          serverRequestId: req.serverRequestId,
          clientRequestId: req.clientRequestId ?? null,
          scopes: principal.scopes,
          ...beforeCommit(replyOf),
        };
      };
      const caller = <T>(replyOf?: ReplyOf<T>): Caller => {
        if (!principal?.tenantId) {
          throw new HttpProblem('validation_failed', 'A platform key acts inside a tenant only when it names one with X-Tenant-Id.', [{ pointer: '/header/x-tenant-id', message: 'is required for a platform key on this operation' }]);
        }
        return { ...acting(replyOf), tenantId: principal.tenantId, requestId: req.id };
      };
      const input = {
        path: req.openapi?.pathParams ?? req.params,
        query: req.query,
        body: req.body,
        headers: req.headers,
      } as unknown as HandlerInput<OperationId>;
      const run = async (): Promise<StoredReply> => {
        const reply = await handler(input, { services, principal, caller, acting, requestId: req.id, log: req.log, req, res });
        return { status: reply.status, headers: reply.headers ?? {}, body: reply.body };
      };

      const key = req.get('idempotency-key');
      let reply: StoredReply & { replayed?: boolean };
      if (key !== undefined && idempotent.has(operationId)) {
        const scope = principal?.tenantId ?? `admin:${principal?.keyId ?? 'bootstrap'}`;
        const hash = services.idempotency.hash(operationId, input.path, input.body);
        reply = await services.idempotency.run(scope, key, operationId, hash, (recordReply) => {
          record = recordReply;
          return run();
        });
        if (reply.replayed) res.setHeader('Idempotent-Replayed', 'true');
      } else {
        reply = await run();
      }
      for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
      res.status(reply.status);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    } catch (error) {
      next(asHttpError(error));
    }
  };
}
