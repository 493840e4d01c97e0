/**
 * Webhook signing secrets and the key ring (issues 12 and 15, decisions 0021 and 0024), on both
 * stores: a key rotation re-wraps the endpoints' sealed secrets beside the connections'
 * credentials and counts them in its progress; once the old version is retired (the server
 * started without it), every endpoint still signs deliveries that the independent
 * `standardwebhooks` package verifies with its secret, both secrets inside a secret rotation's
 * overlap. On PostgreSQL the rows are read over SQL (no secret left under the old version), and
 * an endpoint put back under a retired version stops start-up, naming it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { spawnServer, startServer, type RunningServer, type StoreChoice } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { stripeSecret, uniqueRef } from './factories.js';

const key = (label: string) => registerSecret(randomBytes(32).toString('base64'), `a master key of webhooks-key-rotation (${label})`);
const K1 = key('v1');
const K2 = key('v2');
const ADMIN_KEY = registerSecret(randomBytes(32).toString('base64'), 'the bootstrap key of webhooks-key-rotation');
const ENDPOINTS = 5;

const postgresUnavailable = inject('postgresServerUrl') ? undefined : (inject('postgresUnavailable') ?? 'no PostgreSQL server was started');

for (const store of ['pglite', 'postgres'] as const) {
  const title = `webhook secrets across a key rotation on ${store === 'pglite' ? 'PGlite' : 'PostgreSQL'}`;
  const skip = store === 'postgres' && postgresUnavailable;
  (skip ? describe.skip : describe)(skip ? `${title} (SKIPPED: ${postgresUnavailable})` : title, () => {
    let db: TestDatabase | undefined;
    let dataDir: string;
    let server: RunningServer | undefined;
    const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ path: req.url ?? '/', headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    let receiverUrl = '';
    let choice: StoreChoice;

    const start = async (current: string, previous?: string) => {
      server = await startServer(choice, { PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: current, PATCHBAY_MASTER_KEYS_PREVIOUS: previous, PATCHBAY_WEBHOOK_POLL_MS: '50' }, { dataDir });
      return server;
    };
    const stop = async () => {
      await server?.stop();
      server = undefined;
    };
    const call = async (path: string, init: { method?: string; body?: unknown; apiKey?: string; type?: string } = {}) => {
      const response = await fetch(`${server!.url}${path}`, {
        method: init.method ?? 'GET',
        headers: { 'X-Api-Key': init.apiKey ?? ADMIN_KEY, ...(init.body === undefined ? {} : { 'Content-Type': init.type ?? 'application/json' }) },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
      });
      const text = await response.text();
      expect(response.status, text).toBeLessThan(300);
      return text ? JSON.parse(text) : undefined;
    };

    beforeAll(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'patchbay-webhook-rotation-'));
      if (store === 'postgres') {
        const made = await createTestDatabase();
        if ('unavailable' in made) throw new Error(made.unavailable);
        db = made;
        choice = { store: 'postgres', databaseUrl: db.url };
      } else choice = { store: 'pglite' };
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    }, 60_000);

    afterAll(async () => {
      await stop();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
      await db?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('when the master key is rotated and the old version retired, then every endpoint still signs verifiable deliveries, and no secret is left under the old version', async () => {
      await start(`v1:${K1}`);
      const tenant = await call('/admin/v1/tenants', { method: 'POST', body: { name: `webhook rotation ${uniqueRef()}` } });
      const issued = await call(`/admin/v1/tenants/${tenant.id}/api-keys`, {
        method: 'POST',
        body: { name: 'rotation', scopes: ['connections:read', 'connections:write', 'credentials:write', 'webhooks:read', 'webhooks:write'] },
      });
      const apiKey = registerSecret(issued.api_key, 'the tenant key of webhooks-key-rotation');
      const endpoints: { id: string; secrets: string[] }[] = [];
      for (let i = 0; i < ENDPOINTS; i++) {
        const created = await call('/v1/webhook-endpoints', { method: 'POST', apiKey, body: { url: `${receiverUrl}/e${i}`, event_types: ['connection.updated'] } });
        endpoints.push({ id: created.id, secrets: [registerSecret(created.signing_secret, 'a webhook signing secret')] });
      }
      // One endpoint inside a secret rotation's overlap: its record holds two secrets.
      const rotated = await call(`/v1/webhook-endpoints/${endpoints[0]!.id}/rotate-secret?overlap_seconds=3600`, { method: 'POST', apiKey });
      endpoints[0]!.secrets.unshift(registerSecret(rotated.signing_secret, 'a rotated webhook secret'));
      const connection = await call('/v1/connections', { method: 'POST', apiKey, body: { provider: 'stripe', reference: uniqueRef(), credentials: { secret_key: stripeSecret() } } });
      await stop();

      // v2 current, v1 still loaded: rotate in batches of 2, across both kinds of record.
      await start(`v2:${K2}`, `v1:${K1}`);
      const started = await call('/admin/v1/key-rotations', { method: 'POST', body: { batch_size: 2 } });
      expect(started).toMatchObject({ status: 'running', target_version: 2, records_total: 1 + ENDPOINTS });
      let state = started;
      for (let i = 0; state.status === 'running' && i < 600; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        state = await call(`/admin/v1/key-rotations/${started.id}`);
      }
      expect(state).toMatchObject({ status: 'succeeded', records_total: 1 + ENDPOINTS, records_rewrapped: 1 + ENDPOINTS, min_decryption_version: 2, error: null });
      await stop();

      if (db) {
        const sql = new pg.Client({ connectionString: db.url });
        await sql.connect();
        try {
          const rows = await sql.query('SELECT id, secrets_key_version FROM webhook_endpoints ORDER BY id');
          expect(rows.rows).toHaveLength(ENDPOINTS);
          expect(rows.rows.filter((r) => r.secrets_key_version !== 2)).toEqual([]);
          expect((await sql.query('SELECT count(*)::int AS n FROM connections WHERE credentials_key_version <> 2')).rows[0].n).toBe(0);
        } finally {
          await sql.end();
        }
      }

      // Retired: the server starts with v2 alone (it refuses a store with any record under a
      // version it lacks), and every endpoint signs with its secrets.
      await start(`v2:${K2}`);
      expect(await call('/readyz')).toEqual({ status: 'ok', checks: { database: 'ok', keys: 'ok' } });
      await call(`/v1/connections/${connection.id}`, { method: 'PATCH', apiKey, type: 'application/merge-patch+json', body: { priority: 9 } });
      for (let i = 0; i < 300 && received.length < ENDPOINTS; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(received.map((r) => r.path).sort()).toEqual(endpoints.map((_, i) => `/e${i}`).sort());
      for (const [i, endpoint] of endpoints.entries()) {
        const delivery = received.find((r) => r.path === `/e${i}`)!;
        for (const secret of endpoint.secrets) expect(() => new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>), `endpoint ${i}`).not.toThrow();
      }
      // The secrets still open for a write that re-seals them: rotate one again.
      const again = await call(`/v1/webhook-endpoints/${endpoints[1]!.id}/rotate-secret?overlap_seconds=0`, { method: 'POST', apiKey });
      registerSecret(again.signing_secret, 'a rotated webhook secret');
      await stop();
    }, 180_000);

    if (store === 'postgres') {
      it('when an endpoint’s secret is under a version that is not configured, then the server refuses to start, naming the version', async () => {
        const sql = new pg.Client({ connectionString: db!.url });
        await sql.connect();
        try {
          await sql.query('UPDATE webhook_endpoints SET secrets_key_version = 1 WHERE id = (SELECT min(id) FROM webhook_endpoints)');
          const run = spawnServer({ DATABASE_URL: db!.url, PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: `v2:${K2}` });
          expect((await run.exit()).code, run.output()).toBe(78);
          expect(run.output()).toMatch(/encrypted under key version 1, which is not configured/);
          expect(run.output()).not.toContain(K2);
        } finally {
          await sql.end();
        }
      }, 60_000);
    }
  });
}
