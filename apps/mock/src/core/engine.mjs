// What the mock answers to a request the edge has accepted, before Prism is asked (issue 16):
// the stateful store when the mock or the request asks for it, else the example about the
// resource a path parameter names, else nothing (Prism answers as before). `Prefer: code=`,
// `example=` and `dynamic=` always go to Prism: an explicit ask wins over both.
//
// Browser-safe: no Node module; used by the mock process and by the MSW handlers.
import { HttpProblem } from '@patchbay/openapi-http/problem';
import { createExampleAnswers, exampleResources } from './examples.mjs';
import { createStore, MockProblem } from './store.mjs';

/** `Prefer: code=409, example=x, stateful=true` -> `{ code: '409', example: 'x', stateful: 'true' }`. */
export function parsePrefer(header) {
  const preferences = {};
  for (const part of String(header ?? '').split(',')) {
    const [name, ...value] = part.split('=');
    if (name.trim()) preferences[name.trim().toLowerCase()] = value.join('=').trim().replace(/^"(.*)"$/, '$1');
  }
  return preferences;
}

/** The Prefer header without `stateful=`, which only this mock understands (Prism would refuse it). */
export const withoutStateful = (header) =>
  String(header ?? '')
    .split(',')
    .filter((part) => part.trim() && !/^\s*stateful\s*=/i.test(part))
    .join(',');

/** The key a request is made with: X-Api-Key, or Basic's user name (as the server reads it). */
export function apiKeyOf(headers) {
  const key = headers['x-api-key'];
  if (key) return String(key);
  const authorization = String(headers.authorization ?? '');
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (basic) {
    try {
      return atob(basic[1]).split(':')[0] || undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** A MockProblem as the server's problem document. */
export function problemAnswer(error, requestId, instance) {
  const problem = new HttpProblem(error.code, error.detail, error.errors, error.extensions);
  return { status: problem.status, contentType: 'application/problem+json', body: problem.toDocument(requestId, instance) };
}

/**
 * @param {{ operations: import('@patchbay/api-types/operations').SpecOperation[], providers: object[], stateful: boolean, dynamic?: boolean, limits?: object }} options
 */
export function createEngine({ operations, providers, stateful, dynamic = false, limits }) {
  const answerById = createExampleAnswers(operations);
  const store = createStore({
    connections: exampleResources(operations, ['listConnections', 'getConnection', 'getDefaultProviderConnection']).filter((c) => c.id?.startsWith('conn_')),
    events: exampleResources(operations, ['listConnectionEvents']),
    providers,
    limits,
  });

  return {
    store,
    /**
     * The answer to a valid request, or undefined for Prism (or the static examples) to give.
     * @param {{ operation: object, params: Record<string,string>, query: object, headers: Record<string,string|undefined>, body: unknown, requestId: string, path: string }} request
     * @returns {{ status: number, body?: unknown, contentType?: string, headers?: Record<string,string> } | undefined}
     */
    answer({ operation, params, query, headers, body, requestId, path }) {
      const prefer = parsePrefer(headers.prefer);
      if (prefer.code !== undefined || prefer.example !== undefined || prefer.dynamic === 'true') return undefined;
      const statefulHere = prefer.stateful === undefined ? stateful : prefer.stateful === 'true';
      if (statefulHere && store.handles(operation.operationId)) {
        const key = apiKeyOf(headers) ?? '';
        try {
          const answer = store.answer(operation.operationId, { key, requestId, path, params, query, body: body ?? {}, ifMatch: headers['if-match'], idempotencyKey: headers['idempotency-key'] });
          return { contentType: 'application/json', ...answer };
        } catch (error) {
          if (error instanceof MockProblem) return problemAnswer(error, requestId, path);
          throw error;
        }
      }
      // Generated data (--dynamic) is about no example's resource: Prism generates it.
      if (dynamic && prefer.dynamic !== 'false') return undefined;
      const byId = answerById(operation, params);
      if (!byId) return undefined;
      if (byId.problem) return problemAnswer(new MockProblem(byId.problem.code, byId.problem.detail), requestId, path);
      const answer = { contentType: byId.contentType ?? 'application/json', status: byId.status, body: byId.body };
      if (/problem\+json/.test(answer.contentType)) answer.body = { ...answer.body, request_id: requestId, instance: path };
      else if (answer.body && typeof answer.body.version === 'number') answer.headers = { ETag: `"${answer.body.version}"` };
      return answer;
    },
  };
}
