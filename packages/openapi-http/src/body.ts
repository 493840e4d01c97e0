/** Request bodies: JSON, including JSON merge patch (`application/*+json`), which would
 * otherwise reach the validator as undefined. Parse failures become problems in errors.ts;
 * a body that could hurt (a prototype member, deep nesting, a NUL character) is refused
 * before anything reads it, and so is a path or query value with a NUL. */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { validationProblem } from './problem.js';

export const JSON_BODY_LIMIT = '256kb';

/** How deep a body may nest: far beyond any Patchbay schema, far below a stack overflow. */
export const JSON_MAX_DEPTH = 32;

/** Members that reach an object's prototype when code merges a body into another object. */
const FORBIDDEN_MEMBERS = new Set(['__proto__', 'constructor', 'prototype']);

const escapeToken = (token: string) => token.replaceAll('~', '~0').replaceAll('/', '~1');

/** U+0000: valid JSON, but PostgreSQL can store it in neither text nor jsonb, and no
 * provider's name, reference or credential holds one; refused up front as a field error
 * rather than failing as a database error halfway through a write. */
const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

/** The first member that may not be in a body, or the first place it nests too deep. */
export function hostileMember(value: unknown, maxDepth = JSON_MAX_DEPTH): { pointer: string; message: string } | undefined {
  const stack: { value: unknown; pointer: string; depth: number }[] = [{ value, pointer: '', depth: 0 }];
  while (stack.length) {
    const { value: node, pointer, depth } = stack.pop()!;
    if (typeof node === 'string' && node.includes(NUL)) return { pointer: pointer || '/', message: NUL_MESSAGE };
    if (node === null || typeof node !== 'object') continue;
    if (depth >= maxDepth) return { pointer: pointer || '/', message: `nests deeper than ${maxDepth} levels` };
    for (const key of Object.keys(node)) {
      const child = `${pointer}/${escapeToken(key)}`;
      if (!Array.isArray(node) && FORBIDDEN_MEMBERS.has(key)) return { pointer: child, message: 'is not an allowed member name' };
      if (key.includes(NUL)) return { pointer: child, message: `has a member name that ${NUL_MESSAGE}` };
      stack.push({ value: (node as Record<string, unknown>)[key], pointer: child, depth: depth + 1 });
    }
  }
  return undefined;
}

export function jsonBody(limit: string = JSON_BODY_LIMIT): RequestHandler[] {
  return [
    express.json({ type: ['application/json', 'application/*+json'], limit, strict: false }),
    (req: Request, _res: Response, next: NextFunction) => {
      const found = (req.body === undefined ? undefined : hostileMember(req.body)) ?? nulInQuery(req.query) ?? nulInPath(req.path);
      if (found) return next(validationProblem([found]));
      next();
    },
  ];
}

/** A query value or name with a NUL, as `/query/<name>`: `?q=%00` would otherwise reach SQL.
 * The extended query parser nests (`a[b]=c`), so this walks like the body's check. */
function nulInQuery(query: unknown): { pointer: string; message: string } | undefined {
  const stack: { value: unknown; pointer: string }[] = [{ value: query, pointer: '/query' }];
  while (stack.length) {
    const { value, pointer } = stack.pop()!;
    if (typeof value === 'string' && value.includes(NUL)) return { pointer, message: NUL_MESSAGE };
    if (value === null || typeof value !== 'object') continue;
    for (const key of Object.keys(value)) {
      const child = `${pointer}/${escapeToken(key)}`;
      if (key.includes(NUL)) return { pointer: child, message: `has a name that ${NUL_MESSAGE}` };
      stack.push({ value: (value as Record<string, unknown>)[key], pointer: child });
    }
  }
  return undefined;
}

/** A path segment that decodes to a NUL (`/connections/a%00b` as an upsert's reference). No
 * route has matched yet, so the whole path is named. */
function nulInPath(path: string): { pointer: string; message: string } | undefined {
  return /%00/i.test(path) ? { pointer: '/path', message: NUL_MESSAGE } : undefined;
}
