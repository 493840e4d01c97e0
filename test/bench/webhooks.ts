/**
 * `pnpm --filter @patchbay/test bench:webhooks` (issue 15): webhook delivery latency and outbox
 * throughput, measured over real HTTP. Not a test: never part of `pnpm test` or .ci/run.
 *
 * For each store (PostgreSQL through PATCHBAY_TEST_DATABASE_URL, as the suite; then PGlite) it
 * starts a real server (support/processes.ts: `dist/main.js`, development mode, default
 * webhook settings unless BENCH_PATCHBAY_ENV says otherwise), a receiver on 127.0.0.1 in this
 * process (http to loopback is allowed in development mode) that answers 200 at once, and a
 * tenant with one endpoint that wants every event type. Then:
 *
 * - latency: BENCH_LATENCY_WRITES (200) PATCHes of one connection, one at a time, 10–60 ms
 *   apart (random, so the writes do not beat in step with a poll interval). Each is matched
 *   to its webhook by (connection id, version); latency = the receiver's arrival of the
 *   request minus the arrival of the PATCH's response (the commit). Both are read on this
 *   process's clock. A webhook may arrive before the client has read its write's response:
 *   that is a latency of at most 0, reported as it is.
 * - throughput: BENCH_WRITERS (8) concurrent writers for BENCH_LOAD_SECONDS (10) s, each
 *   creating a connection then PATCHing it and its others round-robin; every 2xx write is one
 *   event. Reported: writes/s, webhooks delivered/s while the writes ran, the backlog when
 *   they stopped, the drain time (last write answered → last webhook received), and checks
 *   that each event arrived exactly once and, per connection, in version order.
 *
 * BENCH_SERVER_MAIN=path runs another build of the server (an A/B against a copy of an earlier
 * dist/); BENCH_LABEL names the run in the table; BENCH_STORES=postgres,pglite picks stores.
 * Output: a markdown table on stdout and in BENCH_OUT (default test/.reports/webhooks-bench.md).
 */
import { createServer, type Server } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createTestDatabase } from '../support/postgres.js';
import { startServer, type RunningServer, type StoreChoice } from '../support/processes.js';

const here = dirname(fileURLToPath(import.meta.url));
const OUT = process.env.BENCH_OUT ?? join(here, '..', '.reports', 'webhooks-bench.md');
const LABEL = process.env.BENCH_LABEL ?? 'current';
const MAIN = process.env.BENCH_SERVER_MAIN;
const STORES = (process.env.BENCH_STORES ?? 'postgres,pglite').split(',');
const LATENCY_WRITES = Number(process.env.BENCH_LATENCY_WRITES ?? 200);
const WRITERS = Number(process.env.BENCH_WRITERS ?? 8);
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const DRAIN_LIMIT_MS = 120_000;
const ADMIN = 'pb_bench_bootstrap_admin_key_0123456789';
const MASTER = Buffer.alloc(32, 9).toString('base64');

interface Arrival {
  path: string;
  id: string;
  connectionId: string;
  version: number;
  at: number;
}

/** The receiver: 200 to every request, arrivals recorded with this process's clock. */
async function startReceiver() {
  const all: Arrival[] = [];
  /** Arrivals at /hook (the first endpoint); /replay gets the replay's. */
  const arrivals: Arrival[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { connection_id?: string; version?: number } };
      const arrival = { path: req.url ?? '/', id: String(req.headers['webhook-id']), connectionId: payload.data.connection_id ?? '', version: payload.data.version ?? -1, at };
      all.push(arrival);
      if (arrival.path === '/hook') arrivals.push(arrival);
      res.writeHead(200).end('ok');
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrivals,
    all,
    /** Resolves once `done()` holds (checked at each arrival), or rejects after `timeoutMs`. */
    until: (done: () => boolean, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        if (done()) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: not done within ${timeoutMs} ms (${arrivals.length} arrivals)`));
        }, timeoutMs);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function call(url: string, key: string, method: string, path: string, body?: unknown, type = 'application/json'): Promise<{ status: number; json: any; at: number }> {
  const r = await fetch(url + path, { method, headers: { 'X-Api-Key': key, ...(body === undefined ? {} : { 'Content-Type': type }), ...(method === 'PATCH' ? { 'If-Match': '*' } : {}) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined, at: performance.now() };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let refs = 0;
const newConnection = (url: string, key: string) =>
  call(url, key, 'POST', '/v1/connections', { provider: 'stripe', reference: `wh-bench-${process.pid}-${refs++}`, name: 'Webhook bench', credentials: { secret_key: `sk_test_${'b'.repeat(20)}${refs}` } });

interface Result {
  store: string;
  latency: { n: number; p50: number; p90: number; p99: number; max: number; min: number };
  replay: { events: number; ms: number; perS: number };
  load: { writes: number; writesPerS: number; deliveredDuringPerS: number; backlogAtStop: number; drainMs: number; overallPerS: number; duplicates: number; outOfOrder: number; failedWrites: number };
}

async function measure(storeName: string, choice: StoreChoice): Promise<Result> {
  const extra = Object.fromEntries((process.env.BENCH_PATCHBAY_ENV ?? '').split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  const server: RunningServer = await startServer(
    choice,
    {
      PATCHBAY_ADMIN_KEY: ADMIN,
      PATCHBAY_MASTER_KEY: MASTER,
      PATCHBAY_WARM_UP: 'true',
      PATCHBAY_RATE_LIMIT_PER_KEY: '100000000/10s',
      PATCHBAY_RATE_LIMIT_PER_TENANT: '100000000/10s',
      PATCHBAY_RATE_LIMIT_FAILED_AUTH: '100000000/60s',
      ...extra,
    },
    MAIN ? { main: MAIN } : {},
  );
  const receiver = await startReceiver();
  try {
    const url = server.url;
    const tenant = (await call(url, ADMIN, 'POST', '/admin/v1/tenants', { name: 'webhook bench' })).json;
    const key = (await call(url, ADMIN, 'POST', `/admin/v1/tenants/${tenant.id}/api-keys`, { name: 'bench', scopes: ['connections:read', 'connections:write', 'credentials:write', 'webhooks:read', 'webhooks:write'] })).json.api_key as string;
    const endpoint = await call(url, key, 'POST', '/v1/webhook-endpoints', { url: `${receiver.base}/hook`, description: 'bench receiver' });
    if (endpoint.status !== 201) throw new Error(`endpoint: ${endpoint.status} ${JSON.stringify(endpoint.json)}`);

    // ---- latency: one write at a time
    const first = await newConnection(url, key);
    if (first.status !== 201) throw new Error(`create: ${first.status} ${JSON.stringify(first.json)}`);
    const id = first.json.id as string;
    await receiver.until(() => receiver.arrivals.length >= 1, 30_000);
    // Warm-up: the validator compiles the PATCH route on first use.
    for (let i = 0; i < 5; i++) await call(url, key, 'PATCH', `/v1/connections/${id}`, { description: `warm-up ${i}` }, 'application/merge-patch+json');
    await receiver.until(() => receiver.arrivals.length >= 6, 30_000);
    const committed = new Map<string, number>();
    for (let i = 0; i < LATENCY_WRITES; i++) {
      const r = await call(url, key, 'PATCH', `/v1/connections/${id}`, { description: `latency ${i}` }, 'application/merge-patch+json');
      if (r.status !== 200) throw new Error(`patch: ${r.status} ${JSON.stringify(r.json)}`);
      committed.set(`${id}@${r.json.version}`, r.at);
      await sleep(10 + Math.random() * 50);
    }
    const byKey = () => new Map(receiver.arrivals.map((a) => [`${a.connectionId}@${a.version}`, a.at]));
    await receiver.until(() => {
      const seen = byKey();
      return [...committed.keys()].every((k) => seen.has(k));
    }, 60_000);
    const seen = byKey();
    const latencies = [...committed].map(([k, at]) => seen.get(k)! - at).sort((a, b) => a - b);
    const latency = { n: latencies.length, p50: pct(latencies, 50), p90: pct(latencies, 90), p99: pct(latencies, 99), max: latencies.at(-1)!, min: latencies[0]! };
    console.log(`  ${storeName} latency (ms): p50 ${latency.p50.toFixed(1)}, p90 ${latency.p90.toFixed(1)}, p99 ${latency.p99.toFixed(1)}, max ${latency.max.toFixed(1)} (n=${latency.n})`);

    // ---- throughput: concurrent writers
    const before = receiver.arrivals.length;
    const expected = new Set<string>();
    let failedWrites = 0;
    let lastAnswer = 0;
    const start = performance.now();
    const stopAt = start + LOAD_SECONDS * 1000;
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        const mine: string[] = [];
        let n = 0;
        while (performance.now() < stopAt) {
          const r = n % 5 === 0 || mine.length === 0 ? await newConnection(url, key) : await call(url, key, 'PATCH', `/v1/connections/${mine[n % mine.length]}`, { description: `load ${n}` }, 'application/merge-patch+json');
          n++;
          lastAnswer = Math.max(lastAnswer, r.at);
          if (r.status !== 200 && r.status !== 201) {
            failedWrites++;
            continue;
          }
          if (r.status === 201) mine.push(r.json.id);
          expected.add(`${r.json.id}@${r.json.version}`);
        }
      }),
    );
    const stopped = lastAnswer;
    const arrivedAtStop = receiver.arrivals.slice(before).filter((a) => a.at <= stopped).length;
    await receiver.until(() => receiver.arrivals.length - before >= expected.size, DRAIN_LIMIT_MS).catch((error: Error) => console.error(`  ${error.message}`));
    await sleep(500); // anything sent twice would arrive now
    const load = receiver.arrivals.slice(before);
    const drainedAt = load.reduce((m, a) => Math.max(m, a.at), 0);
    const ids = new Set(load.map((a) => a.id));
    // Order: per connection, versions arrive strictly increasing.
    const lastVersion = new Map<string, number>();
    let outOfOrder = 0;
    for (const a of load) {
      if ((lastVersion.get(a.connectionId) ?? 0) >= a.version) outOfOrder++;
      lastVersion.set(a.connectionId, a.version);
    }
    const missing = [...expected].filter((k) => !load.some((a) => `${a.connectionId}@${a.version}` === k)).length;
    if (missing) throw new Error(`${missing} of ${expected.size} events never arrived within ${DRAIN_LIMIT_MS} ms`);
    const seconds = (stopped - start) / 1000;
    const result: Result['load'] = {
      writes: expected.size,
      writesPerS: expected.size / seconds,
      deliveredDuringPerS: arrivedAtStop / seconds,
      backlogAtStop: expected.size - arrivedAtStop,
      drainMs: Math.max(0, drainedAt - stopped),
      overallPerS: load.length / ((drainedAt - start) / 1000),
      duplicates: load.length - ids.size,
      outOfOrder,
      failedWrites,
    };
    console.log(
      `  ${storeName} load: ${result.writes} writes in ${seconds.toFixed(1)} s (${result.writesPerS.toFixed(0)}/s), delivered ${result.deliveredDuringPerS.toFixed(0)}/s meanwhile, backlog ${result.backlogAtStop} at stop, drained in ${result.drainMs.toFixed(0)} ms; duplicates ${result.duplicates}, out of order ${outOfOrder}, failed writes ${failedWrites}`,
    );

    // ---- drain rate: a replay of every stored event to a second endpoint, queued at once
    const second = await call(url, key, 'POST', '/v1/webhook-endpoints', { url: `${receiver.base}/replay`, description: 'bench replay' });
    if (second.status !== 201) throw new Error(`endpoint: ${second.status} ${JSON.stringify(second.json)}`);
    const replayedBefore = receiver.all.filter((a) => a.path === '/replay').length;
    const replay = await call(url, key, 'POST', `/v1/webhook-endpoints/${second.json.id}/replays`, { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
    if (replay.status !== 202 && replay.status !== 201 && replay.status !== 200) throw new Error(`replay: ${replay.status} ${JSON.stringify(replay.json)}`);
    const queued = replay.json.events_queued as number;
    const replayed = () => receiver.all.filter((a) => a.path === '/replay').length - replayedBefore;
    await receiver.until(() => replayed() >= queued, DRAIN_LIMIT_MS);
    const lastReplayed = receiver.all.filter((a) => a.path === '/replay').reduce((m, a) => Math.max(m, a.at), 0);
    const replayMs = lastReplayed - replay.at;
    const replayResult = { events: queued, ms: replayMs, perS: queued / (replayMs / 1000) };
    console.log(`  ${storeName} replay: ${queued} events queued at once, delivered in ${replayMs.toFixed(0)} ms (${replayResult.perS.toFixed(0)}/s)`);
    return { store: storeName, latency, load: result, replay: replayResult };
  } finally {
    await receiver.close();
    await server.stop();
  }
}

const results: Result[] = [];
const notes: string[] = [];
const load0 = loadavg()[0]!.toFixed(2);
let failed = false;
for (const store of STORES) {
  try {
    if (store === 'postgres') {
      const db = await createTestDatabase();
      if (!('url' in db)) {
        notes.push(`PostgreSQL skipped: ${db.unavailable}`);
        continue;
      }
      console.log('PostgreSQL');
      try {
        results.push(await measure('PostgreSQL', { store: 'postgres', databaseUrl: db.url }));
      } finally {
        await db.drop();
      }
    } else if (store === 'pglite') {
      console.log('PGlite');
      results.push(await measure('PGlite', { store: 'pglite' }));
    }
  } catch (error) {
    failed = true;
    notes.push(`${store} ABORTED: ${(error as Error).message}`);
    console.error(error);
  }
}

const f = (n: number) => n.toFixed(1);
const report = `# webhooks bench (${LABEL}) — ${new Date().toISOString()}

Server: ${MAIN ?? 'apps/server/dist/main.js'}${process.env.BENCH_PATCHBAY_ENV ? `, ${process.env.BENCH_PATCHBAY_ENV}` : ''}. ${cpus().length} CPUs, load average ${load0} at start, ${loadavg()[0]!.toFixed(2)} at end.

Latency: ${LATENCY_WRITES} PATCHes one at a time, 10–60 ms apart; from the write's response to the receiver's arrival (ms).

| run | store | n | p50 | p90 | p99 | max |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${results.map((r) => `| ${LABEL} | ${r.store} | ${r.latency.n} | ${f(r.latency.p50)} | ${f(r.latency.p90)} | ${f(r.latency.p99)} | ${f(r.latency.max)} |`).join('\n')}

Throughput: ${WRITERS} concurrent writers for ${LOAD_SECONDS} s (a create, then PATCHes), one endpoint.

| run | store | events | writes/s | delivered/s during load | backlog at stop | drain ms | delivered/s overall | duplicates | out of order |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.map((r) => `| ${LABEL} | ${r.store} | ${r.load.writes} | ${r.load.writesPerS.toFixed(0)} | ${r.load.deliveredDuringPerS.toFixed(0)} | ${r.load.backlogAtStop} | ${r.load.drainMs.toFixed(0)} | ${r.load.overallPerS.toFixed(0)} | ${r.load.duplicates} | ${r.load.outOfOrder} |`).join('\n')}
Drain rate: a replay of every stored event (the two phases above) to a second endpoint, queued in one transaction; from the replay's response to the last arrival.

| run | store | events | ms | delivered/s |
| --- | --- | ---: | ---: | ---: |
${results.map((r) => `| ${LABEL} | ${r.store} | ${r.replay.events} | ${r.replay.ms.toFixed(0)} | ${r.replay.perS.toFixed(0)} |`).join('\n')}
${notes.map((n) => `\n- ${n}`).join('')}
`;
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, report);
console.log(`\n${report}\n(written to ${OUT})`);
if (results.some((r) => r.load.duplicates > 0 || r.load.outOfOrder > 0)) failed = true;
process.exitCode = failed ? 1 : 0;
