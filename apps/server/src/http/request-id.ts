/** Gives every request an id (see @patchbay/openapi-http) and a logger bound to it, and logs
 * one line per request. */
import type { NextFunction, Request, Response } from 'express';
import { assignRequestId } from '@patchbay/openapi-http';
import type { Logger } from '../platform/logger.js';
import './request-context.js';

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const id = assignRequestId(req, res);
    // When the client chose the id, our own is logged beside it: the audit trail names ours.
    req.log = logger.child(id === req.serverRequestId ? { request_id: id } : { request_id: id, server_request_id: req.serverRequestId });
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // A connect page's path holds its one-time token (issue 14): never logged.
      const path = req.path.startsWith('/connect/') ? '/connect/[token]' : req.path;
      const line = { method: req.method, path, status: res.statusCode, ms: Math.round(ms * 10) / 10 };
      if (res.statusCode >= 500) req.log.error(line, 'request failed');
      else req.log.info(line, 'request');
    });
    next();
  };
}
