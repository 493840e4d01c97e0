/** The mock tells which version of the spec it answers from: the bundles at the server's
 * URLs (`/openapi/{api}.json`), so a frontend, and the spec-loop bench, can see an edit land. */
import { loadDocument } from '@patchbay/api-types/documents';
import { describe, expect, inject, it } from 'vitest';

describe('GET /openapi/{api}.json on the mock', () => {
  it('serves the bundle of each API it answers from, as the server does', async () => {
    for (const api of ['connections', 'admin'] as const) {
      const response = await fetch(`${inject('mockUrl')}/openapi/${api}.json`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual(loadDocument(api));
    }
  });

  it('answers a file it does not have with a 404 problem', async () => {
    const response = await fetch(`${inject('mockUrl')}/openapi/nothing.json`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
