/** Idempotency: create calls carry an Idempotency-Key, the same one on every retry, so a
 * create whose answer was lost is replayed by the server instead of done twice. */
import { describe, expect, it } from 'vitest';
import { PatchbayError } from '@patchbay/client';
import { describeEach, serverTargets } from '../support/targets.js';
import { exactly, proxiedTenant, rejectionOf, stripeConnection, to } from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describeEach(serverTargets())('client idempotency keys on the $name', (target) => {
  it('when two connections are created, then each POST carries its own generated Idempotency-Key (a v4 UUID)', async () => {
    const { client, proxy } = await proxiedTenant(target);
    proxy.plan([], exactly('POST', '/v1/connections'));

    await client.connections.create(stripeConnection());
    await client.connections.create(stripeConnection());

    const keys = proxy.matching().map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    for (const key of keys) expect(key).toMatch(UUID);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('when the server creates the connection but the answer is lost (socket dropped), then the retry with the same key gets it replayed, and exactly one connection exists', async () => {
    const { client, direct, proxy } = await proxiedTenant(target);
    proxy.plan(['forward-then-drop'], exactly('POST', '/v1/connections'));

    const connection = await client.connections.create(stripeConnection());

    const [first, retry] = proxy.matching();
    expect(proxy.matching()).toHaveLength(2);
    expect(first!.upstream!.status).toBe(201);
    expect(retry!.headers['idempotency-key']).toBe(first!.headers['idempotency-key']);
    expect(retry!.upstream!.headers['idempotent-replayed']).toBe('true');
    expect(connection.id).toBe(JSON.parse(first!.upstream!.body).id);
    expect((await direct.connections.listPage()).data.map((c) => c.id)).toEqual([connection.id]);
  });

  it('when the server creates the connection but a 503 comes back instead, then the retry is replayed, and exactly one connection exists', async () => {
    const { client, direct, proxy } = await proxiedTenant(target);
    proxy.plan([{ forwardThen: { status: 503 } }], exactly('POST', '/v1/connections'));

    const connection = await client.connections.create(stripeConnection());

    expect(proxy.matching().map((r) => r.upstream?.status)).toEqual([201, 201]);
    expect(new Set(proxy.matching().map((r) => r.headers['idempotency-key'])).size).toBe(1);
    expect((await direct.connections.listPage()).data.map((c) => c.id)).toEqual([connection.id]);
  });

  it('when a key is given, then it is sent as is, and reusing it for another body is a 422 idempotency_key_reused (not retried)', async () => {
    const { client, proxy } = await proxiedTenant(target);
    proxy.plan([], exactly('POST', '/v1/connections'));
    const idempotencyKey = `order-4711-${crypto.randomUUID()}`;

    await client.connections.create(stripeConnection(), { idempotencyKey });
    const error = await rejectionOf(client.connections.create(stripeConnection(), { idempotencyKey }));

    expect(proxy.matching().map((r) => r.headers['idempotency-key'])).toEqual([idempotencyKey, idempotencyKey]);
    expect(error).toBeInstanceOf(PatchbayError);
    expect(error).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });

  it('when a sync run report\'s answer is lost, then the retry is replayed and the run counted once', async () => {
    const { client, direct, proxy } = await proxiedTenant(target);
    const connection = await direct.connections.create(stripeConnection());
    proxy.plan(['forward-then-drop'], to('POST', `/v1/connections/${connection.id}/sync-runs`));

    const run = await client.connections.syncRuns.report(connection.id, { outcome: 'failed', error: { code: 'provider_down', message: 'no answer' } });

    expect(proxy.matching()).toHaveLength(2);
    expect(run.consecutive_failures).toBe(1);
    expect((await direct.connections.get(connection.id)).consecutive_failures).toBe(1);
  });
});
