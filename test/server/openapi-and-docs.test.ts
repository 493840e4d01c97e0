/** The specs as the server publishes them (/openapi/{api}.json|yaml) and the HTML reference
 * rendered from them (/docs): the same bundles the server validates against, no key needed,
 * and nothing fetched from the internet. */
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { apiNames, loadDocument } from '@patchbay/api-types/documents';
import { call, expectProblem } from '../support/http.js';

describe('GET /openapi/{api}.json', () => {
  it.each(apiNames)('serves the %s bundle as JSON, without a key', async (api) => {
    const result = await call(`/openapi/${api}.json`, { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toMatch(/^application\/json/);
    expect(result.json).toEqual(loadDocument(api));
  });

  it('answers an API that does not exist with a 404 not_found problem', async () => {
    expectProblem(await call('/openapi/nope.json', { apiKey: null }), 404, 'not_found');
  });
});

describe('GET /openapi/{api}.yaml', () => {
  it.each(apiNames)('serves the %s bundle as YAML that parses to the same document', async (api) => {
    const result = await call(`/openapi/${api}.yaml`, { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toMatch(/^application\/yaml/);
    expect(YAML.parse(result.text)).toEqual(loadDocument(api));
  });

  it('answers an API that does not exist with a 404 not_found problem', async () => {
    expectProblem(await call('/openapi/nope.yaml', { apiKey: null }), 404, 'not_found');
  });
});

describe('GET /docs', () => {
  it.each([
    ['/docs', 'connections'],
    ...apiNames.map((api) => [`/docs/${api}`, api]),
  ])('serves %s as an HTML page that renders /openapi/%s.json with the local Redoc script', async (path, api) => {
    const result = await call(path, { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toMatch(/^text\/html/);
    expect(result.text).toContain('<script src="/docs/assets/redoc.standalone.js"></script>');
    expect(result.text).toContain(`<script src="/docs/assets/start.js" data-spec-url="/openapi/${api}.json"></script>`);
    expect(result.text).toContain(`<title>${loadDocument(api as (typeof apiNames)[number]).info.title}`);
    // Offline by design: no script or stylesheet from another origin.
    expect(result.text).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
  });

  it('answers an API that does not exist with a 404 not_found problem', async () => {
    expectProblem(await call('/docs/nope', { apiKey: null }), 404, 'not_found');
  });
});

describe('GET /docs/assets/redoc.standalone.js', () => {
  it('serves the Redoc script as JavaScript', async () => {
    const result = await call('/docs/assets/redoc.standalone.js', { apiKey: null });
    expect(result.status).toBe(200);
    expect(result.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
    expect(result.text.length).toBeGreaterThan(100_000);
    expect(result.text).toContain('Redoc');
  });
});
