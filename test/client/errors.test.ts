/** Errors: the helpers throw a PatchbayError carrying the problem document, with narrowing
 * helpers; the raw methods keep openapi-fetch's { data, error, response }. */
import { describe, expect, it } from 'vitest';
import { createPatchbayClient, isPatchbayError, PatchbayError, PatchbayPreconditionFailedError } from '@patchbay/client';
import { describeEach, serverTargets } from '../support/targets.js';
import { exactly, proxiedTenant, rejectionOf, stripeConnection } from './helpers.js';

describeEach(serverTargets())('client errors on the $name', (target) => {
  it('when a create is invalid, then a PatchbayError validation_failed carries every violation with its pointer, the request id and the response', async () => {
    const { client } = await proxiedTenant(target);

    const error = await rejectionOf(client.connections.create({ ...stripeConnection(), reference: 'has whitespace', priority: 5000 }));

    if (!isPatchbayError(error)) throw error;
    expect(error).toBeInstanceOf(Error);
    expect(error.is('validation_failed')).toBe(true);
    expect(error.is('not_found')).toBe(false);
    expect(error).toMatchObject({ status: 400, code: 'validation_failed', title: 'The request is not valid', type: 'https://patchbay.dev/problems/validation-failed' });
    expect(Object.keys(error.fieldErrors).sort()).toEqual(['/priority', '/reference']);
    expect(error.fieldErrors['/reference']!.length).toBeGreaterThan(0);
    expect(error.errors.map((e) => e.pointer).sort()).toEqual(['/priority', '/reference']);
    expect(error.requestId).toMatch(/^req_/);
    expect(error.requestId).toBe(error.response.headers.get('x-request-id'));
    expect(error.problem.request_id).toBe(error.requestId);
    expect(error.response.status).toBe(400);
    expect(error.message).toContain(error.requestId!);
  });

  it('when a connection does not exist, then a 404 not_found, which is not a precondition failure', async () => {
    const { client } = await proxiedTenant(target);

    const error = await rejectionOf(client.connections.get('conn_01jd5qaz8x3k7m2n4p6r8t0vwy'));

    expect(isPatchbayError(error, 'not_found')).toBe(true);
    expect(error).not.toBeInstanceOf(PatchbayPreconditionFailedError);
    expect(error).toMatchObject({ status: 404, errors: [], fieldErrors: {} });
  });

  it('when the key is wrong, then a 401 unauthenticated', async () => {
    const client = createPatchbayClient({ baseUrl: target.baseUrl, apiKey: 'pb_not_a_key' });

    await expect(client.providers.get('stripe')).rejects.toMatchObject({ name: 'PatchbayError', status: 401, code: 'unauthenticated' });
  });

  it('when the raw methods get an error response, then they do not throw: { error, response } as openapi-fetch returns it', async () => {
    const { client } = await proxiedTenant(target);

    const { data, error, response } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: 'conn_01jd5qaz8x3k7m2n4p6r8t0vwy' } } });

    expect(data).toBeUndefined();
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ code: 'not_found' });
  });

  it('when something in front of the server answers with HTML, then it is still a PatchbayError (unexpected_response) with the text as detail', async () => {
    const { client, proxy } = await proxiedTenant(target);
    proxy.plan([{ status: 502, body: '<html><body>Bad Gateway</body></html>' }], exactly('GET', '/v1/providers/stripe'));

    const error = await rejectionOf(client.providers.get('stripe'));

    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ status: 502, code: 'unexpected_response', detail: '<html><body>Bad Gateway</body></html>' });
    expect(proxy.matching()).toHaveLength(1);
  });
});
