/** Optimistic concurrency: writes send If-Match from the version read, and a connection that
 * moved on meanwhile is a typed PatchbayPreconditionFailedError (412) with nothing written. */
import { describe, expect, it } from 'vitest';
import { createPatchbayClient, isPatchbayError, PatchbayError, PatchbayPreconditionFailedError } from '@patchbay/client';
import { describeEach, serverTargets } from '../support/targets.js';
import { uniqueRef } from '../api/factories.js';
import { proxiedTenant, rejectionOf, stripeConnection, to } from './helpers.js';

describeEach(serverTargets())('client If-Match and 412 on the $name', (target) => {
  it('when two clients read a connection and both update it with If-Match, then the second gets a PatchbayPreconditionFailedError and its change is not written', async () => {
    const { client: alice, direct, proxy, apiKey } = await proxiedTenant(target);
    const bob = createPatchbayClient({ baseUrl: proxy.url, apiKey });
    const created = await direct.connections.create(stripeConnection());
    proxy.plan([], to('PATCH', '/v1/connections/'));

    const readByAlice = await alice.connections.get(created.id);
    const readByBob = await bob.connections.get(created.id);
    await alice.connections.update(created.id, { priority: 10 }, { ifMatch: readByAlice });
    const error = await rejectionOf(bob.connections.update(created.id, { priority: 20 }, { ifMatch: readByBob }));

    expect(proxy.matching().map((r) => r.headers['if-match'])).toEqual(['"1"', '"1"']);
    expect(error).toBeInstanceOf(PatchbayPreconditionFailedError);
    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ status: 412, code: 'version_mismatch', currentVersion: 2 });
    expect(isPatchbayError(error, 'version_mismatch')).toBe(true);
    const now = await direct.connections.get(created.id);
    expect(now).toMatchObject({ priority: 10, version: 2 });
  });

  it('when ifMatch is a version number or an ETag string, then it is sent as the quoted ETag', async () => {
    const { client, direct, proxy } = await proxiedTenant(target);
    const created = await direct.connections.create(stripeConnection());
    proxy.plan([], to('PATCH', '/v1/connections/'));

    await client.connections.update(created.id, { priority: 1 }, { ifMatch: 1 });
    await client.connections.update(created.id, { priority: 2 }, { ifMatch: '"2"' });

    expect(proxy.matching().map((r) => [r.headers['if-match'], r.headers['content-type']])).toEqual([
      ['"1"', 'application/merge-patch+json'],
      ['"2"', 'application/merge-patch+json'],
    ]);
  });

  it('when modify reads the connection and someone writes before its patch lands, then the 412 is thrown by default, and with maxConflictRetries it reads again and applies the change to the fresh version', async () => {
    const { client, direct } = await proxiedTenant(target);
    const created = await direct.connections.create(stripeConnection());
    let seen: number[] = [];
    const addTag = (tag: string) => async (current: { tags: string[]; version: number }) => {
      seen.push(current.version);
      // Someone else writes between our read and our write, once per modify.
      if (seen.length === 1) await direct.connections.update(created.id, { metadata: { touched_by: `someone else before ${tag}` } });
      return { tags: [...current.tags, tag] };
    };

    const refused = await rejectionOf(client.connections.modify(created.id, addTag('first')));
    expect(refused).toBeInstanceOf(PatchbayPreconditionFailedError);
    expect(seen).toEqual([1]);

    seen = [];
    const now = await direct.connections.get(created.id);
    const modified = await client.connections.modify(created.id, addTag('second'), { maxConflictRetries: 1 });
    expect(seen).toEqual([now.version, now.version + 1]);
    expect(modified.tags).toEqual([...now.tags, 'second']);
    expect(modified.metadata).toEqual({ touched_by: 'someone else before second' });
  });

  it('when modify\'s change returns undefined, then nothing is written', async () => {
    const { client, direct, proxy } = await proxiedTenant(target);
    const created = await direct.connections.create(stripeConnection());
    proxy.plan([], to('PATCH', '/v1/connections/'));

    const same = await client.connections.modify(created.id, () => undefined);

    expect(same.version).toBe(created.version);
    expect(proxy.matching()).toEqual([]);
  });

  it('when replace, credentials.replace and archive are sent with a stale ifMatch, then each is a 412 and nothing changes', async () => {
    const { client, direct } = await proxiedTenant(target);
    const created = await direct.connections.create(stripeConnection());
    await direct.connections.update(created.id, { priority: 3 });
    const stale = { ifMatch: created };

    const errors = [
      await rejectionOf(client.connections.replace(created.id, { name: 'Renamed', environment: 'production' }, stale)),
      await rejectionOf(client.connections.credentials.replace(created.id, { secret_key: `sk_test_${'x'.repeat(24)}` }, stale)),
      await rejectionOf(client.connections.archive(created.id, stale)),
    ];

    for (const error of errors) expect(error).toMatchObject({ name: 'PatchbayPreconditionFailedError', status: 412, currentVersion: 2 });
    expect(await direct.connections.get(created.id)).toMatchObject({ version: 2, name: created.name, status: 'active' });
  });

  it('when an upsert by reference says ifMatch but no such connection exists yet, then a 412 with no current version', async () => {
    const { client } = await proxiedTenant(target);

    const error = await rejectionOf(client.providers.upsertByReference('stripe', uniqueRef(), { name: 'x' }, { ifMatch: 1 }));

    expect(error).toBeInstanceOf(PatchbayPreconditionFailedError);
    expect((error as PatchbayPreconditionFailedError).currentVersion).toBeNull();
  });
});
