/** Request bodies: JSON, including JSON merge patch (`application/*+json`), which would
 * otherwise reach the validator as undefined. Parse failures become problems in errors.ts. */
import express, { type RequestHandler } from 'express';

export const JSON_BODY_LIMIT = '256kb';

export function jsonBody(limit: string = JSON_BODY_LIMIT): RequestHandler {
  return express.json({ type: ['application/json', 'application/*+json'], limit, strict: false });
}
