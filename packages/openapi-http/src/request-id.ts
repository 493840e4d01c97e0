/** Every request gets an id: the caller's X-Request-Id when it is sane, else a new one. It is
 * echoed on the response and quoted in every problem and log line. */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** This request's id, also sent back as X-Request-Id (the client's own when sane). */
      id: string;
      /** The server's own id of this request: `id` when the server made it, a fresh one when
       * it echoes the client's. An audit trail records this one, never the client's alone. */
      serverRequestId: string;
      /** The sane X-Request-Id the client sent, or undefined. */
      clientRequestId: string | undefined;
    }
  }
}

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function newRequestId(): string {
  return `req_${randomBytes(12).toString('base64url')}`;
}

/** Sets `req.id` and the X-Request-Id response header. */
export function assignRequestId(req: Request, res: Response): string {
  const incoming = req.get('x-request-id');
  req.clientRequestId = incoming && SANE_ID.test(incoming) ? incoming : undefined;
  req.serverRequestId = newRequestId();
  req.id = req.clientRequestId ?? req.serverRequestId;
  res.setHeader('X-Request-Id', req.id);
  return req.id;
}
