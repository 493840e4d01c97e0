/** Request bodies: JSON, including JSON merge patch (`application/*+json`), which would
 * otherwise reach the validator as undefined. Parse failures become problems in errors.ts;
 * a body that could hurt (a prototype member, deep nesting) is refused before anything
 * reads it. */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { validationProblem } from './problem.js';

export const JSON_BODY_LIMIT = '256kb';

/** How deep a body may nest: far beyond any Patchbay schema, far below a stack overflow. */
export const JSON_MAX_DEPTH = 32;

/** Members that reach an object's prototype when code merges a body into another object. */
const FORBIDDEN_MEMBERS = new Set(['__proto__', 'constructor', 'prototype']);

const escapeToken = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** The first member that may not be in a body, or the first place it nests too deep. */
export function hostileMember(value: unknown, maxDepth = JSON_MAX_DEPTH): { pointer: string; message: string } | undefined {
  const stack: { value: unknown; pointer: string; depth: number }[] = [{ value, pointer: '', depth: 0 }];
  while (stack.length) {
    const { value: node, pointer, depth } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= maxDepth) return { pointer: pointer || '/', message: `nests deeper than ${maxDepth} levels` };
    for (const key of Object.keys(node)) {
      const child = `${pointer}/${escapeToken(key)}`;
      if (!Array.isArray(node) && FORBIDDEN_MEMBERS.has(key)) return { pointer: child, message: 'is not an allowed member name' };
      stack.push({ value: (node as Record<string, unknown>)[key], pointer: child, depth: depth + 1 });
    }
  }
  return undefined;
}

export function jsonBody(limit: string = JSON_BODY_LIMIT): RequestHandler[] {
  return [
    express.json({ type: ['application/json', 'application/*+json'], limit, strict: false }),
    (req: Request, _res: Response, next: NextFunction) => {
      const found = req.body === undefined ? undefined : hostileMember(req.body);
      if (found) return next(validationProblem([found]));
      next();
    },
  ];
}
