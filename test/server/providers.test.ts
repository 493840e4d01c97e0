/** The provider catalog as the real server serves it: filters, pagination and cursors,
 * and the promises the catalog keeps (who is in it, credentials never readable). The
 * contract suite checks the shapes; this checks the server's own behaviour. */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createPatchbayClient } from '@patchbay/client';
import type { ConnectionsSchema } from '@patchbay/api-types';
import { loadDocument } from '@patchbay/api-types/documents';
import { call, expectProblem } from '../support/http.js';
import { walkPages, withCursor } from '../support/pagination.js';

type Provider = ConnectionsSchema<'Provider'>;

const client = createPatchbayClient({ baseUrl: inject('serverUrl'), apiKey: inject('adminKey') });
const schemas = loadDocument('connections').components!.schemas as Record<string, { enum: string[] }>;

/** Every provider, in one page (the catalog is far below the maximum page size). */
async function allProviders(): Promise<Provider[]> {
  const { data, response } = await client.GET('/v1/providers', { params: { query: { limit: 200 } } });
  expect(response.status).toBe(200);
  expect(data!.next_cursor).toBeNull();
  return data!.data;
}

describe('GET /v1/providers', () => {
  let everyProvider: Provider[];
  beforeAll(async () => {
    everyProvider = await allProviders();
  });

  it('rejects a caller without a key', async () => {
    expectProblem(await call('/v1/providers', { apiKey: null }), 401, 'unauthenticated');
  });

  it('lists providers ordered by slug', () => {
    const slugs = everyProvider.map((p) => p.slug);
    expect(slugs).toEqual([...slugs].sort());
  });

  it.each(schemas.ProviderCategory!.enum)('when filtered by category %s, returns exactly the providers of that category', async (category) => {
    const { data, response } = await client.GET('/v1/providers', {
      params: { query: { category: category as Provider['category'], limit: 200 } },
    });
    expect(response.status).toBe(200);
    const expected = everyProvider.filter((p) => p.category === category).map((p) => p.slug);
    expect(data!.data.map((p) => p.slug)).toEqual(expected);
  });

  it.each(schemas.ProviderAuthType!.enum)('when filtered by auth_type %s, returns exactly the providers that authenticate so', async (authType) => {
    const { data, response } = await client.GET('/v1/providers', {
      params: { query: { auth_type: authType as Provider['auth_type'], limit: 200 } },
    });
    expect(response.status).toBe(200);
    const expected = everyProvider.filter((p) => p.auth_type === authType).map((p) => p.slug);
    expect(data!.data.map((p) => p.slug)).toEqual(expected);
  });

  it('when filtered by category and auth_type, returns the providers that match both', async () => {
    const { data } = await client.GET('/v1/providers', { params: { query: { category: 'payment_gateway', auth_type: 'api_key' } } });
    const slugs = data!.data.map((p) => p.slug);
    expect(slugs).toEqual(everyProvider.filter((p) => p.category === 'payment_gateway' && p.auth_type === 'api_key').map((p) => p.slug));
    expect(slugs).toContain('stripe');
    expect(slugs).not.toContain('payven-vpos');
  });

  it('when walked with limit=2, returns every provider exactly once, following next_cursor', async () => {
    const { items, pages } = await walkPages((cursor) => client.GET('/v1/providers', { params: { query: { limit: 2, ...withCursor(cursor) } } }), { limit: 2, maxPages: everyProvider.length });
    expect(pages.every((page) => page.length > 0)).toBe(true);
    expect(items.map((p) => p.slug)).toEqual(everyProvider.map((p) => p.slug));
    expect(pages).toHaveLength(Math.ceil(everyProvider.length / 2));
  });

  it('when walked with limit=1 and a filter, keeps the filter on every page', async () => {
    const { items } = await walkPages((cursor) => client.GET('/v1/providers', { params: { query: { category: 'payment_gateway', limit: 1, ...withCursor(cursor) } } }), { limit: 1, maxPages: everyProvider.length });
    expect(items.map((p) => p.slug)).toEqual(everyProvider.filter((p) => p.category === 'payment_gateway').map((p) => p.slug));
  });

  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  it.each([
    ['is not a cursor at all', 'not-a-cursor'],
    ['belongs to another list', cursorOf({ l: 'connections', p: { after: 'hubspot' } })],
    ['has a position of the wrong type', cursorOf({ l: 'providers', p: { after: 42 } })],
  ])('rejects a cursor that %s with a 400 pointing at /query/cursor', async (_name, cursor) => {
    const problem = expectProblem(await call(`/v1/providers?cursor=${encodeURIComponent(cursor)}`), 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/query/cursor']);
  });
});

describe('GET /v1/providers/{slug}', () => {
  it('rejects a caller without a key', async () => {
    expectProblem(await call('/v1/providers/stripe', { apiKey: null }), 401, 'unauthenticated');
  });

  it('answers a well-formed slug that is not in the catalog with a 404 not_found problem', async () => {
    const problem = expectProblem(await call('/v1/providers/acme-pay'), 404, 'not_found');
    expect(problem.detail).toContain('acme-pay');
  });

  it('returns the same provider the list returns', async () => {
    const list = await allProviders();
    for (const provider of list) {
      const { data, response } = await client.GET('/v1/providers/{slug}', { params: { path: { slug: provider.slug } } });
      expect(response.status).toBe(200);
      expect(data).toEqual(provider);
    }
  });
});

describe('the provider catalog', () => {
  it('has the providers the product promises', async () => {
    const slugs = (await allProviders()).map((p) => p.slug);
    const promised = ['stripe', 'razorpay', 'chargebee', 'quickbooks', 'hubspot', 's3', 'payven-vpos', 'pos-connect', 'efatura', 'avalara', 'sendgrid', 'generic'];
    expect(promised.filter((slug) => !slugs.includes(slug))).toEqual([]);
  });

  it('marks every credentials property writeOnly, so no response can carry a credential', async () => {
    const providers = await allProviders();
    const members = providers.flatMap((provider) => {
      const schema = provider.credentials_schema as { properties?: Record<string, unknown>; additionalProperties?: unknown };
      const named = Object.entries(schema.properties ?? {}).map(([name, property]) => ({ at: `${provider.slug} ${name}`, property }));
      // Free-form credentials (the generic provider) are secrets too: the schema of the extra members says so.
      const extra = schema.additionalProperties === undefined || schema.additionalProperties === false ? [] : [{ at: `${provider.slug} additionalProperties`, property: schema.additionalProperties }];
      return [...named, ...extra];
    });
    expect(members.length).toBeGreaterThan(providers.length);
    const notWriteOnly = members.filter(({ property }) => (property as { writeOnly?: unknown }).writeOnly !== true).map(({ at }) => at);
    expect(notWriteOnly).toEqual([]);
  });
});
