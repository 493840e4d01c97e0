/** The last middlewares: a 404 for what nothing answered, and the one place that turns any
 * error into a problem+json response. Unexpected errors are handed to the caller's logger
 * (which must never log a request body or a header value) and answered with a bare 500
 * that carries the request id. */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { HttpProblem } from './problem.js';
import './request-id.js';
import { validatorErrorToProblem } from './validation.js';

interface BodyParserError {
  type?: string;
  status?: number;
  expose?: boolean;
}

function bodyParserErrorToProblem(error: unknown): HttpProblem | undefined {
  const e = error as BodyParserError;
  switch (e?.type) {
    case 'entity.parse.failed':
      return new HttpProblem('malformed_json', 'The request body could not be parsed as JSON.', [{ pointer: '/', message: 'is not valid JSON' }]);
    case 'entity.too.large':
      return new HttpProblem('payload_too_large', 'The request body is larger than the server accepts.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem('unsupported_media_type', 'Send the body as UTF-8 JSON.');
    default:
      return undefined;
  }
}

export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new HttpProblem('not_found', `No route matches ${req.method} ${req.path}.`));
}

/** What an unexpected error may be logged with: its message, stack, status and, for a
 * response that broke the spec, the failing members' paths (never their values). */
export interface UnexpectedError {
  message?: string;
  stack?: string;
  errors?: unknown;
  status?: number;
}

/** Turns any error into a problem response; `onUnexpected` hears about the ones that are bugs. */
export function problemResponder(onUnexpected: (error: UnexpectedError, req: Request) => void): ErrorRequestHandler {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    let problem = error instanceof HttpProblem ? error : (bodyParserErrorToProblem(error) ?? validatorErrorToProblem(error, req));
    if (!problem) {
      const e = error as UnexpectedError | undefined;
      onUnexpected({ message: e?.message, stack: e?.stack, errors: e?.errors, status: e?.status }, req);
      problem = new HttpProblem('internal_error', 'The error was logged with the request id; quote it when asking for help.');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    writeProblem(res, problem, req);
  };
}

/** Writes a problem as application/problem+json with the request id and path. */
export function writeProblem(res: Response, problem: HttpProblem, req: Request): void {
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toDocument(req.id, req.originalUrl.split('?')[0])));
}
