/** What the server answers when a request does not reach a handler: every such answer is
 * an application/problem+json document with a stable code, never Express's HTML. */
import { describe, expect, inject, it } from 'vitest';
import { call, expectProblem } from '../support/http.js';

describe('a route that does not exist', () => {
  it.each(['/v1/nope', '/v1/providers/stripe/nope', '/nope', '/admin/v1/nope'])('answers %s with a 404 not_found problem', async (path) => {
    const problem = expectProblem(await call(path), 404, 'not_found');
    expect(problem.instance).toBe(path);
  });
});

describe('POST /v1/providers', () => {
  it('answers a method the path does not have with a 405 problem and an Allow header', async () => {
    const result = await call('/v1/providers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expectProblem(result, 405, 'method_not_allowed');
    expect(result.headers.get('allow')?.split(/,\s*/)).toEqual(['GET']);
  });

  // The body is parsed before the route is matched: a body that is not JSON is reported as
  // such wherever it is sent, rather than surfacing as a confusing validation error.
  it.each(['application/json', 'application/merge-patch+json'])('answers a %s body that is not JSON with a 400 malformed_json problem', async (type) => {
    const result = await call('/v1/providers', { method: 'POST', headers: { 'Content-Type': type }, body: '{"name": "Acme",' });
    const problem = expectProblem(result, 400, 'malformed_json');
    expect(problem.errors).toEqual([{ pointer: '/', message: expect.any(String) }]);
  });
});

describe('X-Api-Key', () => {
  it.each([
    ['a wrong key', 'pb_wrong_key_0123456789abcdefghij'],
    ['the admin key with its last character missing', inject('adminKey').slice(0, -1)],
    ['an empty key', ''],
  ])('answers %s with a 401 unauthenticated problem', async (_name, apiKey) => {
    expectProblem(await call('/v1/providers', { apiKey }), 401, 'unauthenticated');
  });

  it('accepts the bootstrap admin key', async () => {
    const result = await call('/v1/providers');
    expect(result.status).toBe(200);
  });
});
