/** GET /v1/connections/{connectionId}/events: one event per change, never a secret value. */
import { describe, expect, it } from 'vitest';
import { specViolations } from '../support/spec-schema.js';
import { walkPages, withCursor } from '../support/pagination.js';
import { describeEach, serverTargets } from '../support/targets.js';
import { createConnection, eventsOf, expectNoSecrets, stripeSecret, stripeWebhookSecret, tenant } from './factories.js';

describeEach(serverTargets())('connection events on the $name', (target) => {
  it('when a connection goes through its life, then each change appends one event with its action and changed field names', async () => {
    const { client, keyId } = await tenant(target);
    const secret = stripeSecret();
    const webhook = stripeWebhookSecret();
    const rotated = stripeSecret();
    const c = await createConnection(client, { credentials: { secret_key: secret, webhook_secret: webhook } });
    const path = { path: { connectionId: c.id } };
    await client.PATCH('/v1/connections/{connectionId}', { params: path, body: { priority: 4, settings: { webhook_url: 'https://x.example.com/h' } } });
    await client.PUT('/v1/connections/{connectionId}/credentials', { params: path, body: { credentials: { secret_key: rotated } } });
    await client.PATCH('/v1/connections/{connectionId}', { params: path, body: { status: 'disabled' } });
    await client.PATCH('/v1/connections/{connectionId}', { params: path, body: { status: 'active' } });
    await client.POST('/v1/connections/{connectionId}/sync-runs', { params: path, body: { outcome: 'failed', error: { message: 'boom' } } });
    await client.POST('/v1/connections/{connectionId}/sync-runs', { params: path, body: { outcome: 'succeeded' } });
    await client.DELETE('/v1/connections/{connectionId}', { params: path });

    const { response, data } = await client.GET('/v1/connections/{connectionId}/events', { params: { ...path, query: { limit: 200 } } });
    expect(response.status).toBe(200);
    expect(specViolations('listConnectionEvents', 200, data)).toEqual([]);
    const events = [...data!.data].reverse();
    expect(events.map((e) => e.action)).toEqual(['created', 'updated', 'credentials_replaced', 'status_changed', 'status_changed', 'sync_failed', 'sync_succeeded', 'archived']);
    expect(events[0]!.changed_fields).toEqual(expect.arrayContaining(['credentials.secret_key', 'credentials.webhook_secret', 'name', 'reference']));
    expect(events[1]!.changed_fields).toEqual(['priority', 'settings.webhook_url']);
    expect(events[2]!.changed_fields).toEqual(['credentials.secret_key', 'credentials.webhook_secret']);
    expect(events[3]).toMatchObject({ status_from: 'active', status_to: 'disabled' });
    expect(events[7]).toMatchObject({ status_from: 'active', status_to: 'archived' });
    for (const e of events) {
      expect(e.actor).toEqual({ type: 'api_key', id: keyId });
      expect(e.request_id).toBeTruthy();
    }
    expectNoSecrets(data, [secret, webhook, rotated]);
  });

  it('when a write changes nothing, then no event is appended', async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client, { priority: 2 });
    await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { priority: 2 } });
    expect((await eventsOf(client, c.id)).map((e) => e.action)).toEqual(['created']);
  });

  it('when events are paged, then next_cursor walks them newest first without repeats', async () => {
    const { client } = await tenant(target);
    const c = await createConnection(client);
    for (let i = 1; i <= 4; i++) await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { priority: i } });
    const { items, pages } = await walkPages((cursor) => client.GET('/v1/connections/{connectionId}/events', { params: { path: { connectionId: c.id }, query: { limit: 2, ...withCursor(cursor) } } }), { limit: 2 });
    const ids = items.map((e) => e.id);
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(ids).toHaveLength(5);
    expect(ids).toEqual((await eventsOf(client, c.id)).map((e) => e.id));
    expect(new Set(ids).size).toBe(5);
  });
});
