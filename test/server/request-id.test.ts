/** X-Request-Id: every response carries one, a caller's sane id is kept so that its traces
 * join ours, and a problem quotes the same id. */
import { describe, expect, it } from 'vitest';
import { call, expectProblem, type CallOptions } from '../support/http.js';

const GENERATED_ID = /^req_[A-Za-z0-9_-]{8,}$/;

describe('X-Request-Id', () => {
  it.each<[string, string, CallOptions]>([
    ['a public probe', '/healthz', { apiKey: null }],
    ['an authenticated operation', '/v1/providers', {}],
    ['a caller without a key', '/v1/providers', { apiKey: null }],
    ['an unknown route', '/v1/nope', {}],
    ['a wrong method', '/v1/providers', { method: 'POST' }],
    ['an API document', '/openapi/connections.json', { apiKey: null }],
    ['the reference docs', '/docs', { apiKey: null }],
  ])('is on the response to %s (%s)', async (_name, path, options) => {
    const result = await call(path, options);
    expect(result.headers.get('x-request-id')).toMatch(GENERATED_ID);
  });

  it('differs from one request to the next', async () => {
    const [first, second] = await Promise.all([call('/healthz'), call('/healthz')]);
    expect(first!.headers.get('x-request-id')).not.toBe(second!.headers.get('x-request-id'));
  });

  it("echoes the caller's own id when it is sane", async () => {
    const id = 'client-trace:42.abc_DEF';
    const result = await call('/v1/providers', { headers: { 'X-Request-Id': id } });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-request-id')).toBe(id);
  });

  it.each([
    ['is 300 characters long', 'a'.repeat(300)],
    ['contains spaces', 'trace id with spaces'],
    ['contains markup', '<script>alert(1)</script>'],
  ])("replaces the caller's id when it %s", async (_name, id) => {
    const result = await call('/healthz', { headers: { 'X-Request-Id': id } });
    expect(result.status).toBe(200);
    expect(result.headers.get('x-request-id')).toMatch(GENERATED_ID);
    expect(result.headers.get('x-request-id')).not.toBe(id);
  });

  it('is the request_id of a problem, whether generated or echoed', async () => {
    const generated = expectProblem(await call('/v1/providers', { apiKey: null }), 401, 'unauthenticated');
    expect(generated.request_id).toMatch(GENERATED_ID);

    const echoed = expectProblem(await call('/v1/nope', { headers: { 'X-Request-Id': 'client-trace-7' } }), 404, 'not_found');
    expect(echoed.request_id).toBe('client-trace-7');
  });
});
