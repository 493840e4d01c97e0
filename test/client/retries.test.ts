/** Retries: network errors, 429 and 503 are retried with backoff and Retry-After, only for
 * requests that are safe to repeat, within bounded attempts and time. The server is real;
 * a proxy in front of it fails on purpose and counts the attempts. */
import { describe, expect, it, vi } from 'vitest';
import { isPatchbayError, PatchbayError, PatchbayNetworkError } from '@patchbay/client';
import { serverTargets } from '../support/targets.js';
import { exactly, proxiedTenant, rejectionOf, stripeConnection, to } from './helpers.js';

const [target] = serverTargets();
const unavailable = { status: 503 } as const;
const rateLimited = { status: 429 } as const;

describe(`client retries (through a flaky proxy to the ${target!.name})`, () => {
  it('when a GET meets a 503 and then a 429, then it is retried and the connection is returned (3 attempts)', async () => {
    const { client, direct, proxy, retries } = await proxiedTenant(target!);
    const created = await direct.connections.create(stripeConnection());
    proxy.plan([unavailable, rateLimited], to('GET', '/v1/connections/'));

    const got = await client.connections.get(created.id);

    expect(got.id).toBe(created.id);
    expect(proxy.matching().map((r) => r.step)).toEqual([unavailable, rateLimited, 'forward']);
    expect(retries.map((r) => [r.attempt, r.reason, r.response?.status])).toEqual([
      [1, 'status', 503],
      [2, 'status', 429],
    ]);
  });

  it('when the 503s outlast maxRetries, then the helper throws the last 503 as a PatchbayError after 1 + maxRetries attempts', async () => {
    const { client, direct, proxy } = await proxiedTenant(target!, { retries: { maxRetries: 3 } });
    const created = await direct.connections.create(stripeConnection());
    proxy.plan(Array(10).fill(unavailable), to('GET', '/v1/connections/'));

    const error = await rejectionOf(client.connections.get(created.id));

    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ status: 503, code: 'not_ready' });
    expect(proxy.matching()).toHaveLength(4);
  });

  it('when a raw GET meets 503s, then it is retried too and keeps openapi-fetch\'s { data, error, response } shape', async () => {
    const { client, proxy } = await proxiedTenant(target!, { retries: { maxRetries: 1 } });
    proxy.plan([unavailable, unavailable], exactly('GET', '/v1/providers/stripe'));
    const failed = await client.GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
    expect(failed.response.status).toBe(503);
    expect(failed.error).toMatchObject({ code: 'not_ready' });
    expect(proxy.matching()).toHaveLength(2);

    proxy.plan([unavailable], exactly('GET', '/v1/providers/stripe'));
    const ok = await client.GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
    expect(ok.data!.slug).toBe('stripe');
    expect(proxy.matching()).toHaveLength(2);
  });

  it('when a 503 carries Retry-After in seconds, then the wait is what it asks, cut to maxRetryAfterMs', async () => {
    // A backoff ceiling of 10 s: had Retry-After been ignored, the wait would be a random
    // fraction of it, not exactly 0.
    const { client, proxy, retries } = await proxiedTenant(target!, { retries: { initialDelayMs: 10_000, maxDelayMs: 10_000, maxRetryAfterMs: 7 } });
    proxy.plan([{ status: 503, headers: { 'retry-after': '0' } }, { status: 429, headers: { 'retry-after': '120' } }], exactly('GET', '/v1/providers/stripe'));

    await client.providers.get('stripe');

    expect(retries.map((r) => r.delayMs)).toEqual([0, 7]);
    expect(proxy.matching()).toHaveLength(3);
  });

  it('when a 503 carries Retry-After as an HTTP date, then it is honoured too (a past date: no wait; a far one: cut)', async () => {
    const { client, proxy, retries } = await proxiedTenant(target!, { retries: { initialDelayMs: 10_000, maxDelayMs: 10_000, maxRetryAfterMs: 9 } });
    const past = new Date(Date.now() - 60_000).toUTCString();
    const future = new Date(Date.now() + 3_600_000).toUTCString();
    proxy.plan([{ status: 503, headers: { 'retry-after': past } }, { status: 503, headers: { 'retry-after': future } }], exactly('GET', '/v1/providers/stripe'));

    await client.providers.get('stripe');

    expect(retries.map((r) => r.delayMs)).toEqual([0, 9]);
  });

  it('when Retry-After asks for more than the time budget (maxElapsedMs) leaves, then the client does not wait: the 503 is thrown after one attempt', async () => {
    const { client, proxy, retries } = await proxiedTenant(target!, { retries: { maxRetryAfterMs: 3_600_000, maxElapsedMs: 1_000 } });
    proxy.plan([{ status: 503, headers: { 'retry-after': '3600' } }], exactly('GET', '/v1/providers/stripe'));

    const error = await rejectionOf(client.providers.get('stripe'));

    expect(isPatchbayError(error, 'not_ready')).toBe(true);
    expect(proxy.matching()).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it('when there is no Retry-After, then each wait is the random fraction of a ceiling that doubles, up to maxDelayMs (full jitter), and the client really waits it', async () => {
    // A stubbed random source makes the schedule exact: half of each ceiling.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const { client, proxy, retries } = await proxiedTenant(target!, { retries: { maxRetries: 4, initialDelayMs: 80, maxDelayMs: 200 } });
      proxy.plan([unavailable, unavailable, unavailable, unavailable], exactly('GET', '/v1/providers/stripe'));

      await client.providers.get('stripe');

      // Ceilings 80, 160, 200 (capped), 200.
      const expected = [40, 80, 100, 100];
      expect(retries.map((r) => r.delayMs)).toEqual(expected);
      const attempts = proxy.matching();
      expect(attempts.map((r) => r.step)).toEqual([unavailable, unavailable, unavailable, unavailable, 'forward']);
      // Each attempt comes at least its wait after the one before (a client that never waits fails here).
      expected.forEach((delay, i) => expect(attempts[i + 1]!.at - attempts[i]!.at, `the wait before attempt ${i + 2}`).toBeGreaterThanOrEqual(delay - 1));
    } finally {
      random.mockRestore();
    }
  });

  it('when a dropped socket interrupts a GET, then it is retried and succeeds', async () => {
    const { client, proxy, retries } = await proxiedTenant(target!);
    proxy.plan(['drop', 'drop'], exactly('GET', '/v1/providers/stripe'));

    const stripe = await client.providers.get('stripe');

    expect(stripe.slug).toBe('stripe');
    expect(proxy.matching()).toHaveLength(3);
    expect(retries.map((r) => r.reason)).toEqual(['network', 'network']);
  });

  it('when every attempt loses its socket, then a PatchbayNetworkError says how many attempts were made', async () => {
    const { client, proxy } = await proxiedTenant(target!, { retries: { maxRetries: 2 } });
    proxy.plan(['drop', 'drop', 'drop'], exactly('GET', '/v1/providers/stripe'));

    const error = await rejectionOf(client.providers.get('stripe'));

    expect(error).toBeInstanceOf(PatchbayNetworkError);
    expect(error).not.toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ attempts: 3 });
    expect((error as PatchbayNetworkError).cause).toBeDefined();
    expect(proxy.matching()).toHaveLength(3);
  });

  it('when a PATCH (not idempotent) meets a 503, then it is not retried', async () => {
    const { client, direct, proxy } = await proxiedTenant(target!);
    const created = await direct.connections.create(stripeConnection());
    proxy.plan([unavailable], to('PATCH', '/v1/connections/'));

    const error = await rejectionOf(client.connections.update(created.id, { priority: 5 }));

    expect(error).toMatchObject({ status: 503 });
    expect(proxy.matching()).toHaveLength(1);
    expect((await direct.connections.get(created.id)).priority).toBe(created.priority);
  });

  it('when a raw POST without an Idempotency-Key loses its socket, then it is not retried (it could create twice)', async () => {
    const { client, direct, proxy } = await proxiedTenant(target!);
    proxy.plan(['drop'], exactly('POST', '/v1/connections'));

    const error = await rejectionOf(client.POST('/v1/connections', { body: stripeConnection() }));

    expect(error).toBeInstanceOf(PatchbayNetworkError);
    expect(error).toMatchObject({ attempts: 1 });
    expect(proxy.matching()).toHaveLength(1);
    expect((await direct.connections.listPage()).data).toEqual([]);
  });

  it('when retries are turned off for one call (retries: false) or one client (withOptions), then a 503 is final at once', async () => {
    const { client, proxy } = await proxiedTenant(target!);
    proxy.plan([unavailable, unavailable], exactly('GET', '/v1/providers/stripe'));
    await expect(client.providers.get('stripe', { retries: false })).rejects.toMatchObject({ status: 503 });
    expect(proxy.matching()).toHaveLength(1);

    proxy.plan([unavailable, unavailable], exactly('GET', '/v1/providers/stripe'));
    const raw = await client.withOptions({ retries: false }).GET('/v1/providers/{slug}', { params: { path: { slug: 'stripe' } } });
    expect(raw.response.status).toBe(503);
    expect(proxy.matching()).toHaveLength(1);
  });

  it('when a create meets "still in flight" (409 with Retry-After) for its Idempotency-Key, then it waits and retries; a 409 without Retry-After is final', async () => {
    const { client, direct, proxy } = await proxiedTenant(target!);
    const inFlight = { status: 409, headers: { 'retry-after': '1' } };
    proxy.plan([inFlight], exactly('POST', '/v1/connections'));
    const body = stripeConnection();
    const created = await client.connections.create(body);
    expect(proxy.matching()).toHaveLength(2);

    // The real server's 409 for a reference in use has no Retry-After: retrying cannot help.
    proxy.plan([], exactly('POST', '/v1/connections'));
    const duplicate = await rejectionOf(client.connections.create({ ...stripeConnection(), reference: body.reference }));
    expect(duplicate).toMatchObject({ status: 409, code: 'conflict' });
    expect(proxy.matching()).toHaveLength(1);
    expect((await direct.connections.listPage()).data.map((c) => c.id)).toEqual([created.id]);
  });
});
