/** Every request gets an id: the caller's X-Request-Id when it is sane, else a new one. It is
 * echoed on the response and quoted in every problem and log line. */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** This request's id, also sent back as X-Request-Id. */
      id: string;
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
  req.id = incoming && SANE_ID.test(incoming) ? incoming : newRequestId();
  res.setHeader('X-Request-Id', req.id);
  return req.id;
}
