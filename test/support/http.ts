/** Plain HTTP calls to the real server, for what the typed client hides on purpose: wrong
 * methods, malformed bodies, exact headers, non-JSON resources. */
import { expect, inject } from 'vitest';
import type { ConnectionsSchema } from '@patchbay/api-types';
import { assertNoSecretsInResponse, registerCredentialsIn } from './secrets.js';

export type Problem = ConnectionsSchema<'Problem'>;

export interface CallOptions {
  method?: string;
  /** Sent as X-Api-Key; the bootstrap admin key unless given, none when null. */
  apiKey?: string | null;
  headers?: Record<string, string>;
  body?: string;
  /** Another server than the one the global setup started. */
  baseUrl?: string;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body when the response is JSON (problems included), else undefined. */
  json: unknown;
}

/** Sends one request; fails when a secret registered so far (support/secrets.ts) is in the
 * response's raw body or any of its headers. The `credentials` a JSON body carries are
 * registered as secrets before it is sent. */
export async function call(path: string, options: CallOptions = {}): Promise<CallResult> {
  const apiKey = options.apiKey === undefined ? inject('adminKey') : options.apiKey;
  const headers: Record<string, string> = { ...(apiKey === null ? {} : { 'X-Api-Key': apiKey }), ...options.headers };
  const method = options.method ?? 'GET';
  if (options.body !== undefined) {
    try {
      registerCredentialsIn(JSON.parse(options.body), `${method} ${path}`);
    } catch {
      // A malformed body sent on purpose: nothing to register.
    }
  }
  const response = await fetch(new URL(path, options.baseUrl ?? inject('serverUrl')), {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const text = await response.text();
  assertNoSecretsInResponse(`${method} ${path} -> ${response.status}`, response.headers, text);
  const isJson = /^application\/([a-z.+-]+\+)?json/.test(response.headers.get('content-type') ?? '');
  return { status: response.status, headers: response.headers, text, json: isJson && text ? JSON.parse(text) : undefined };
}

/** Asserts an RFC 9457 problem with this status and code, whose request_id is the X-Request-Id header. */
export function expectProblem(result: CallResult, status: number, code: string): Problem {
  expect(result.status, result.text).toBe(status);
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const problem = result.json as Problem;
  expect(problem).toMatchObject({ status, code, type: expect.stringMatching(/^https:\/\//), title: expect.any(String) });
  expect(problem.request_id).toBe(result.headers.get('x-request-id'));
  return problem;
}
