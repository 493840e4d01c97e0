/**
 * The hot path, measured (not a test: run it with `pnpm --filter @patchbay/test bench`).
 * Starts a real server per backend with query logging on, creates a tenant, a key and a
 * connection, then: counts the SQL queries one authenticated getConnection and one
 * listConnections page cost, and times getConnection over keep-alive HTTP.
 */
import { performance } from 'node:perf_hooks';
import { createPatchbayClient } from '@patchbay/client';
import { createTestDatabase } from '../support/postgres.js';
import { startServer, type StoreChoice } from '../support/processes.js';

const ADMIN = 'pb_bench_bootstrap_admin_key_0123456789';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);

async function measure(name: string, store: StoreChoice) {
  const server = await startServer(store, { PATCHBAY_ADMIN_KEY: ADMIN, PATCHBAY_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), PATCHBAY_LOG_QUERIES: 'true', LOG_LEVEL: 'info' });
  try {
    const admin = createPatchbayClient({ baseUrl: server.url, apiKey: ADMIN });
    const tenant = (await admin.POST('/admin/v1/tenants', { body: { name: 'bench' } })).data!;
    const key = (await admin.POST('/admin/v1/tenants/{tenantId}/api-keys', { params: { path: { tenantId: tenant.id } }, body: { name: 'bench', scopes: ['connections:read', 'connections:write'] } })).data!;
    const client = createPatchbayClient({ baseUrl: server.url, apiKey: key.api_key });
    let id = '';
    for (let i = 0; i < 200; i++) {
      const created = await client.POST('/v1/connections', { body: { provider: 'stripe', reference: `bench-${i}`, credentials: { secret_key: `sk_test_${'a'.repeat(20)}${i}` } } });
      id = created.data!.id;
    }
    const queriesOf = async (call: () => Promise<unknown>) => {
      await call(); // warm: the validator compiles a route on first use
      await new Promise((r) => setTimeout(r, 200));
      const before = server.output().split('"msg":"query"').length;
      await call();
      await new Promise((r) => setTimeout(r, 200));
      return server.output().split('"msg":"query"').length - before;
    };
    const getQueries = await queriesOf(() => client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: id } } }));
    const listQueries = await queriesOf(() => client.GET('/v1/connections', { params: { query: { limit: 50 } } }));
    const lastPage = await queriesOf(async () => {
      let cursor: string | undefined;
      for (let page = 0; page < 3; page++) {
        const r = await client.GET('/v1/connections', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } });
        cursor = r.data!.next_cursor ?? undefined;
      }
    });

    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < REQUESTS) {
          next++;
          const t = performance.now();
          const r = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: id } } });
          if (!r.response.ok) throw new Error(`status ${r.response.status}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!.toFixed(1);
    console.log(
      `${name}: getConnection = ${getQueries} queries (key + connection), a list page = ${listQueries} (key + page), 3 pages = ${lastPage}; ` +
        `${REQUESTS} GETs at concurrency ${CONCURRENCY}: ${(REQUESTS / seconds).toFixed(0)} req/s, p50 ${pct(50)} ms, p99 ${pct(99)} ms (query logging on)`,
    );
  } finally {
    await server.stop();
  }
}

await measure('PGlite', { store: 'pglite' });
const pg = await createTestDatabase();
if ('url' in pg) {
  await measure('PostgreSQL', { store: 'postgres', databaseUrl: pg.url });
  await pg.drop();
} else console.log(`PostgreSQL: skipped (${pg.unavailable})`);
