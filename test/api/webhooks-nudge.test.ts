/**
 * Webhooks (issue 15, decision 0024): a process that commits outbox rows wakes its own delivery
 * worker after the commit, so a change's webhook does not wait for the poll. The server here
 * polls once a minute (PATCHBAY_WEBHOOK_POLL_MS=60000, the most allowed), so every webhook
 * this test sees before its first poll was sent because of the nudge. Both stores: on
 * PostgreSQL a nudge run before the commit would find nothing (the rows are not visible yet).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { stripeSecret, uniqueRef } from './factories.js';

const MASTER_KEY = Buffer.alloc(32, 43).toString('base64');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of the webhooks nudge test');
const POLL_MS = 60_000;

const STORES = ['pglite', 'postgres'] as const;
const postgresUnavailable = inject('postgresServerUrl') ? undefined : (inject('postgresUnavailable') ?? 'no PostgreSQL server was started');

for (const store of STORES) {
  const title = `webhooks are sent after the commit, not at the next poll, on ${store === 'pglite' ? 'PGlite' : 'PostgreSQL'}`;
  const skip = store === 'postgres' && postgresUnavailable;
  (skip ? describe.skip : describe)(skip ? `${title} (SKIPPED: ${postgresUnavailable})` : title, () => {
    let db: TestDatabase | undefined;
    let server: RunningServer;
    let receiver: Server;
    let receiverUrl: string;
    let key: string;
    /** When the server was asked to start: its first poll is no earlier than POLL_MS after. */
    let startedAt: number;
    const received: { path: string; type: string; version: number | undefined; at: number }[] = [];

    const api = async (path: string, method = 'GET', body?: unknown, type = 'application/json') => {
      const response = await fetch(`${server.url}${path}`, { method, headers: { 'X-Api-Key': key, ...(body !== undefined ? { 'Content-Type': type } : {}) }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    };
    const until = async <T>(what: string, probe: () => T | undefined | false): Promise<T> => {
      for (;;) {
        const value = probe();
        if (value) return value;
        // Past the first poll, arrival would prove nothing: fail instead.
        if (Date.now() > startedAt + POLL_MS - 5_000) throw new Error(`${what} did not arrive before the worker's first poll`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };

    beforeAll(async () => {
      if (store === 'postgres') {
        const made = await createTestDatabase();
        if ('unavailable' in made) throw new Error(made.unavailable);
        db = made;
      }
      receiver = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        req.on('end', () => {
          const payload = JSON.parse(body) as { type: string; data: { version?: number } };
          received.push({ path: req.url ?? '/', type: payload.type, version: payload.data.version, at: Date.now() });
          res.writeHead(200).end('ok');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      startedAt = Date.now();
      server = await startServer(db ? { store: 'postgres', databaseUrl: db.url } : { store: 'pglite' }, {
        PATCHBAY_ADMIN_KEY: ADMIN_KEY,
        PATCHBAY_MASTER_KEY: MASTER_KEY,
        PATCHBAY_WEBHOOK_POLL_MS: String(POLL_MS),
      });
      const admin = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: 'POST', headers: { 'X-Api-Key': ADMIN_KEY, 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
      const tenant = await admin('/admin/v1/tenants', { name: `webhooks nudge ${uniqueRef()}` });
      const made = await admin(`/admin/v1/tenants/${tenant.id}/api-keys`, { name: 'nudge test', scopes: ['connections:read', 'connections:write', 'credentials:write', 'webhooks:read', 'webhooks:write'] });
      key = registerSecret(made.api_key, 'a webhooks nudge test key');
    }, 120_000);

    afterAll(async () => {
      await server?.stop();
      await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
      await db?.drop();
    });

    it('each committed change, and a replay, reaches the receiver before the first poll, in order', async () => {
      const endpoint = await api('/v1/webhook-endpoints', 'POST', { url: `${receiverUrl}/hook` });
      expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
      registerSecret(endpoint.body.signing_secret, 'a webhook signing secret');
      const created = await api('/v1/connections', 'POST', { provider: 'stripe', reference: uniqueRef(), credentials: { secret_key: stripeSecret() } });
      expect(created.status).toBe(201);
      await until('connection.created', () => received.some((r) => r.path === '/hook' && r.type === 'connection.created'));
      // One at a time: each write's webhook arrives before the next write.
      for (let i = 1; i <= 3; i++) {
        const patched = await api(`/v1/connections/${created.body.id}`, 'PATCH', { description: `nudge ${i}` }, 'application/merge-patch+json');
        expect(patched.status).toBe(200);
        await until(`the webhook of version ${patched.body.version}`, () => received.some((r) => r.path === '/hook' && r.version === patched.body.version));
      }
      expect(received.filter((r) => r.path === '/hook').map((r) => r.type)).toEqual(['connection.created', 'connection.updated', 'connection.updated', 'connection.updated']);

      // A replay's deliveries are queued in its own transaction: the worker is woken after it too.
      const second = await api('/v1/webhook-endpoints', 'POST', { url: `${receiverUrl}/replay` });
      expect(second.status).toBe(201);
      registerSecret(second.body.signing_secret, 'a webhook signing secret');
      const replay = await api(`/v1/webhook-endpoints/${second.body.id}/replays`, 'POST', { from: new Date(Date.now() - 600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
      expect(replay.status, JSON.stringify(replay.body)).toBeLessThan(300);
      expect(replay.body.events_queued).toBe(4);
      const replayed = await until('the replay', () => received.filter((r) => r.path === '/replay').length >= 4 && received.filter((r) => r.path === '/replay'));
      expect(replayed.map((r) => r.version)).toEqual(received.filter((r) => r.path === '/hook').map((r) => r.version));
    });
  });
}
