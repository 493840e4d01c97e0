/** The last middlewares: a 404 for what nothing answered, and the one place that turns any
 * error into a problem+json response. Unexpected errors are logged (never with a request
 * body or a header value) and answered with a bare 500 that carries the request id. */
import type { NextFunction, Request, Response } from 'express';
import { HttpProblem } from './problem.js';
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

export function problemResponder(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  let problem = error instanceof HttpProblem ? error : (bodyParserErrorToProblem(error) ?? validatorErrorToProblem(error, req));
  if (!problem) {
    const e = error as { message?: string; stack?: string; errors?: unknown; status?: number };
    // Response-validation failures carry the failing member's path, never its value.
    req.log.error({ err: { message: e?.message, stack: e?.stack, errors: e?.errors, status: e?.status } }, 'unexpected error');
    problem = new HttpProblem('internal_error', 'The error was logged with the request id; quote it when asking for help.');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toDocument(req.id, req.originalUrl.split('?')[0])));
}
