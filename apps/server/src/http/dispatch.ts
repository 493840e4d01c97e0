/**
 * Routes a validated request to its handler by operationId. express-openapi-validator has
 * already matched the path (once), so there is no second Express route table to keep in step
 * with the spec.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { OperationId } from '@patchbay/api-types';
import type { Services } from '../services.js';
import type { Handler, HandlerInput, Handlers } from './handler.js';
import type { LoadedApi } from './validation.js';
import { HttpProblem } from './problem.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** Every operationId of the loaded documents. */
export function operationIdsOf(apis: LoadedApi[]): string[] {
  return apis.flatMap((api) =>
    Object.values(api.document.paths ?? {}).flatMap((item) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([, op]) => (op as { operationId: string }).operationId),
    ),
  );
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

interface OpenApiRequest extends Request {
  openapi?: { schema?: { operationId?: string }; pathParams?: Record<string, string> };
}

export function dispatch(handlers: Handlers, services: Services): RequestHandler {
  return async (req: OpenApiRequest, res: Response, next: NextFunction) => {
    const operationId = req.openapi?.schema?.operationId as OperationId | undefined;
    if (!operationId) return next();
    const handler = handlers[operationId] as Handler<OperationId> | undefined;
    if (!handler) return next(new HttpProblem('not_found', `No handler for ${operationId}.`));
    try {
      const input = {
        path: req.openapi?.pathParams ?? req.params,
        query: req.query,
        body: req.body,
        headers: req.headers,
      } as unknown as HandlerInput<OperationId>;
      const reply = await handler(input, { services, principal: req.principal, requestId: req.id, log: req.log, req, res });
      for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
      res.status(reply.status);
      if (reply.body === undefined) res.end();
      else res.json(reply.body);
    } catch (error) {
      next(error);
    }
  };
}
