/**
 * `pnpm bench` (issue 13): Patchbay against a bare node:http ceiling, a bare Express 5 floor,
 * the Prism CLI mock and @patchbay/mock, all in one run. Not a test: it is never part of
 * `pnpm test` or .ci/run. Needs `wrk` (Debian: `apt-get install -y wrk`) and `taskset`; the
 * PostgreSQL parts need PATCHBAY_TEST_DATABASE_URL (a role that may CREATE DATABASE), as the
 * suite does.
 *
 * Every server under test is pinned to CPU 0 (`taskset -c 0`), wrk to CPU 1, with 50
 * keep-alive connections, a warm-up, then BENCH_ROUNDS rounds of BENCH_DURATION seconds; the
 * table gives medians with the spread (min–max) of req/s. Any non-2xx answer fails its
 * scenario (and the run's exit code). Patchbay runs from its package's start script
 * (`node dist/main.js`) with full validation, LOG_LEVEL=info to a file, and the rate limits
 * raised through their variables so that they are counted but never hit.
 *
 * BENCH_QUICK=1 (or `pnpm bench --quick`): one 3-second round, 100,000 rows for the large
 * scale case — about two minutes. The default (full) run takes 7–9 minutes.
 * BENCH_ONLY=regex: run only the scenarios whose "group / name" matches (e.g.
 * `BENCH_ONLY='PostgreSQL / (getConnection|list|create)'`), plus the node:http ceiling, which
 * every ratio needs; a store or scale case none of whose scenarios match is not set up at all.
 * BENCH_PATCHBAY_ENV='NAME=value NAME=value': settings for the Patchbay servers under test
 * (e.g. `PATCHBAY_DB_POOL_SIZE=20`), which otherwise get none from the environment.
 * Output: the markdown table on stdout and in BENCH_OUT (default test/bench/results.md).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createTestDatabase } from '../support/postgres.js';

const here = dirname(fileURLToPath(import.meta.url));
/** BENCH_ROOT: measure another checkout's build (e.g. a clean worktree of HEAD while the working tree is mid-edit). */
const root = process.env.BENCH_ROOT ? resolve(process.env.BENCH_ROOT) : resolve(here, '../..');
const quick = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
const DURATION = Number(process.env.BENCH_DURATION ?? (quick ? 3 : 6));
const WARMUP = Number(process.env.BENCH_WARMUP ?? (quick ? 1 : 2));
const SCALE_ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? (quick ? 1 : 2));
const SCALE_DURATION = Number(process.env.BENCH_SCALE_DURATION ?? (quick ? 3 : 4));
const SCALE_LARGE = Number(process.env.BENCH_SCALE_ROWS ?? (quick ? 100_000 : 1_000_000));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const OUT = process.env.BENCH_OUT ?? join(here, 'results.md');
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;
const CEILING = 'bare node:http (ceiling)';
/** Whether BENCH_ONLY selects a scenario; the ceiling always runs. */
const selected = (group: string, name: string) => !ONLY || name.startsWith(CEILING) || ONLY.test(`${group} / ${name}`);
const PATCHBAY_SCENARIOS = ['getConnection', 'listConnections (50 a page)', 'createConnection with credentials', 'updateConnection (If-Match: *)', 'upsertProviderConnection (existing)'];
const SCALE_SCENARIOS = ['getConnection', 'first list page', 'deep list page', 'text search q=', 'first page, include_total=true'];
const ADMIN = 'pb_bench_bootstrap_admin_key_0123456789';
const MASTER = Buffer.alloc(32, 7).toString('base64');
const work = mkdtempSync(join(tmpdir(), 'patchbay-bench-'));
const started = performance.now();

interface Row {
  group: string;
  name: string;
  rps: number[];
  p50: number[];
  p99: number[];
  rssMb: number;
  non2xx: number;
  /** Requests that timed out (wrk --timeout 10s) or met a socket error; a round with no answer at all counts one. */
  socketErrors: number;
  note?: string;
}
const rows: Row[] = [];
const notes: string[] = [];
let failed = false;

// ---------------------------------------------------------------- processes

interface Proc {
  child: ChildProcess;
  pid: number;
  stop: () => Promise<void>;
}

function startPinned(command: string, args: string[], env: Record<string, string>, logFile: string, cwd = root): Proc {
  const child = spawn('taskset', ['-c', '0', command, ...args], { cwd, env: { ...cleanEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    child,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('PATCHBAY_') && e[0] !== 'DATABASE_URL' && e[0] !== 'NODE_ENV'),
  );
}

function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : NaN;
  } catch {
    return NaN;
  }
}

async function waitFor(url: string, headers: Record<string, string> = {}, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url, { headers });
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let nextPort = 20000 + Math.floor(Math.random() * 20000);
const freePort = () => nextPort++;

// ---------------------------------------------------------------- wrk

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: string;
}

function toMs(v: string): number {
  const m = /([\d.]+)(us|ms|s|m)/.exec(v)!;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function wrk(url: string, seconds: number, script?: string, args: string[] = []): WrkResult {
  const out = execFileSync(
    'taskset',
    ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '--timeout', '10s', ...(script ? ['-s', script] : []), url, ...(args.length ? ['--', ...args] : [])],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1] ?? '0ms');
  const p99 = toMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1] ?? '0ms');
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors:[^\n]*/.exec(out)?.[0] ?? '';
  return { rps, p50, p99, non2xx, errors };
}

let scriptCount = 0;
/** A wrk Lua script: headers, and optionally a request() body. */
function luaScript(headers: Record<string, string>, request?: string): string {
  const file = join(work, `s${scriptCount++}.lua`);
  const lines = Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  writeFileSync(file, `${lines.join('\n')}\nlocal prefix = "x"\nfunction init(args) prefix = args[1] or "x" end\n${request ?? ''}\n`);
  return file;
}

async function scenario(group: string, name: string, pid: number, url: string, script: string | undefined, opts: { rounds?: number; duration?: number; args?: () => string[]; note?: string } = {}) {
  const rounds = opts.rounds ?? ROUNDS;
  const duration = opts.duration ?? DURATION;
  const args = opts.args ?? (() => []);
  if (!selected(group, name)) return;
  const warm = wrk(url, WARMUP, script, args());
  let non2xx = warm.non2xx;
  let socketErrors = 0;
  const rps: number[] = [];
  const p50: number[] = [];
  const p99: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = wrk(url, duration, script, args());
    rps.push(r.rps);
    p50.push(r.p50);
    p99.push(r.p99);
    non2xx += r.non2xx;
    // Timeouts and other socket errors are answers that never came: a failure like a non-2xx.
    if (r.errors) {
      notes.push(`${group} / ${name}: ${r.errors}`);
      socketErrors += Number(/timeout (\d+)/.exec(r.errors)?.[1] ?? 0) + Number(/connect (\d+)/.exec(r.errors)?.[1] ?? 0) + Number(/read (\d+)/.exec(r.errors)?.[1] ?? 0) + Number(/write (\d+)/.exec(r.errors)?.[1] ?? 0);
    }
    if (!(r.rps > 0)) socketErrors += 1;
  }
  const row: Row = { group, name, rps, p50, p99, rssMb: peakRssMb(pid), non2xx, socketErrors, ...(opts.note ? { note: opts.note } : {}) };
  rows.push(row);
  if (non2xx > 0 || socketErrors > 0) failed = true;
  console.log(`  ${group} / ${name}: ${fmt(median(rps))} req/s, p50 ${median(p50).toFixed(1)} ms, p99 ${median(p99).toFixed(1)} ms, RSS ${row.rssMb} MB${non2xx ? `, ${non2xx} non-2xx (FAIL)` : ''}${socketErrors ? `, ${socketErrors} timeouts/socket errors (FAIL)` : ''}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- baselines

const SAMPLE_ID = 'conn_01jd5qaz8x3k7m2n4p6r8t0vwy';

async function baselines(json: string) {
  console.log('baselines');
  const bodyFile = join(work, 'connection.json');
  writeFileSync(bodyFile, json);
  const bare = join(work, 'bare.mjs');
  writeFileSync(
    bare,
    `import http from 'node:http'; import { readFileSync } from 'node:fs';
const body = readFileSync(${JSON.stringify(bodyFile)});
http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }); res.end(body); }).listen(Number(process.env.PORT), '127.0.0.1');`,
  );
  const expressPath = createRequire(join(root, 'apps/server/package.json')).resolve('express');
  const exp = join(work, 'express.mjs');
  writeFileSync(
    exp,
    `import express from ${JSON.stringify(expressPath)}; import { readFileSync } from 'node:fs';
const body = JSON.parse(readFileSync(${JSON.stringify(bodyFile)}, 'utf8'));
const app = express(); app.get('/v1/connections/:id', (req, res) => { res.json(body); }); app.listen(Number(process.env.PORT), '127.0.0.1');`,
  );
  const path = `/v1/connections/${SAMPLE_ID}`;
  const headers = { 'X-Api-Key': 'pb_live_bench_mock_key_0123456789abcdef' };
  for (const [name, cmd, args, env] of [
    ['bare node:http (ceiling)', process.execPath, [bare], {}],
    ['bare Express 5 (floor)', process.execPath, [exp], {}],
    ['Prism CLI mock', join(root, 'apps/mock/node_modules/.bin/prism'), ['mock', '-h', '127.0.0.1', '-p', 'PORT', join(root, 'specs/dist/connections.yaml')], {}],
    ['@patchbay/mock', process.execPath, [join(root, 'apps/mock/src/main.mjs')], { PATCHBAY_MOCK_WATCH: 'off', HOST: '127.0.0.1' }],
  ] as const) {
    if (!selected('baseline', `${name}, getConnection`)) continue;
    const port = freePort();
    const p = startPinned(cmd, args.map((a) => (a === 'PORT' ? String(port) : a)), { PORT: String(port), ...env }, join(work, `${name.replace(/\W+/g, '_')}.log`));
    try {
      await waitFor(`http://127.0.0.1:${port}${path}`, headers);
      await scenario('baseline', `${name}, getConnection`, p.pid, `http://127.0.0.1:${port}${path}`, luaScript(headers));
    } finally {
      await p.stop();
    }
  }
}

// ---------------------------------------------------------------- Patchbay

interface Store {
  kind: 'pglite' | 'postgres';
  env: Record<string, string>;
  databaseUrl?: string;
}

function serverEnv(store: Store, port: number): Record<string, string> {
  return {
    ...store.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    PATCHBAY_ADMIN_KEY: ADMIN,
    PATCHBAY_MASTER_KEY: MASTER,
    PATCHBAY_RATE_LIMIT_PER_KEY: '100000000/10s',
    PATCHBAY_RATE_LIMIT_PER_TENANT: '100000000/10s',
    PATCHBAY_RATE_LIMIT_FAILED_AUTH: '100000000/60s',
    ...Object.fromEntries((process.env.BENCH_PATCHBAY_ENV ?? '').split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)])),
  };
}

function startPatchbay(store: Store, label: string): { proc: Proc; url: string } {
  const port = freePort();
  const proc = startPinned(process.execPath, ['dist/main.js'], serverEnv(store, port), join(work, `patchbay-${label}.log`), join(root, 'apps/server'));
  return { proc, url: `http://127.0.0.1:${port}` };
}

async function api(url: string, key: string, method: string, path: string, body?: unknown, extra: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(url + path, { method, headers: { 'X-Api-Key': key, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...extra }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined, headers: r.headers };
}

async function setUp(url: string, tenants = 1, connections = 50): Promise<{ key: string; tenantIds: string[]; ids: string[]; refs: string[] }> {
  const tenantIds: string[] = [];
  for (let i = 0; i < tenants; i++) tenantIds.push((await api(url, ADMIN, 'POST', '/admin/v1/tenants', { name: `bench-${i}` })).json.id);
  const key = (await api(url, ADMIN, 'POST', `/admin/v1/tenants/${tenantIds[0]}/api-keys`, { name: 'bench', scopes: ['connections:read', 'connections:write', 'credentials:write'] })).json.api_key as string;
  const ids: string[] = [];
  const refs: string[] = [];
  for (let i = 0; i < connections; i++) {
    const ref = `bench-${i}`;
    const r = await api(url, key, 'POST', '/v1/connections', { provider: 'stripe', reference: ref, name: `Bench connection ${i}`, credentials: { secret_key: `sk_test_bench${i}aaaaaaaaaaaaaaaa` } });
    if (r.status !== 201) throw new Error(`set-up create: ${r.status} ${JSON.stringify(r.json)}`);
    ids.push(r.json.id);
    refs.push(ref);
  }
  return { key, tenantIds, ids, refs };
}

async function patchbay(store: Store): Promise<string> {
  const label = store.kind === 'pglite' ? 'PGlite' : 'PostgreSQL';
  if (!PATCHBAY_SCENARIOS.some((name) => selected(`Patchbay, ${label}`, name))) return '';
  console.log(`Patchbay on ${label}`);
  // Set up on a first process, then measure start-up of a second on the same store.
  let { proc, url } = startPatchbay(store, `${store.kind}-setup`);
  await waitFor(`${url}/readyz`);
  const { key, ids, refs } = await setUp(url);
  await proc.stop();

  const t0 = performance.now();
  ({ proc, url } = startPatchbay(store, store.kind));
  await waitFor(`${url}/readyz`);
  const ready = performance.now() - t0;
  const latencies: number[] = [];
  for (let i = 0; i < 21; i++) {
    const t = performance.now();
    const r = await api(url, key, 'GET', `/v1/connections/${ids[0]}`);
    if (r.status !== 200) throw new Error(`first getConnection: ${r.status}`);
    latencies.push(performance.now() - t);
  }
  const first = latencies[0]!;
  const steady = median(latencies.slice(1));
  const sample = JSON.stringify((await api(url, key, 'GET', `/v1/connections/${ids[0]}`)).json);
  notes.push(`start-up on ${label}: ${Math.round(ready)} ms from spawn to /readyz 200; first getConnection ${first.toFixed(1)} ms, median of the next 20 ${steady.toFixed(1)} ms (${(first / steady).toFixed(1)}×)`);
  console.log(`  ${notes.at(-1)}`);
  try {
    const h = { 'X-Api-Key': key };
    const group = `Patchbay, ${label}`;
    await scenario(group, 'getConnection', proc.pid, `${url}/v1/connections/${ids[0]}`, luaScript(h));
    await scenario(group, 'listConnections (50 a page)', proc.pid, `${url}/v1/connections?limit=50`, luaScript(h));
    let round = 0;
    await scenario(
      group,
      'createConnection with credentials',
      proc.pid,
      url,
      luaScript(
        { ...h, 'Content-Type': 'application/json' },
        `local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/connections", nil, '{"provider":"stripe","reference":"c-' .. prefix .. '-' .. n .. '","credentials":{"secret_key":"sk_test_bench' .. n .. 'aaaaaaaaaaaa"}}')
end`,
      ),
      { args: () => [`${store.kind}${round++}`] },
    );
    const idList = ids.map((i) => JSON.stringify(i)).join(',');
    await scenario(
      group,
      'updateConnection (If-Match: *)',
      proc.pid,
      url,
      luaScript(
        { ...h, 'Content-Type': 'application/merge-patch+json', 'If-Match': '*' },
        `local ids = {${idList}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("PATCH", "/v1/connections/" .. ids[(n % #ids) + 1], nil, '{"priority":' .. (n % 100) .. '}')
end`,
      ),
    );
    const refList = refs.map((r) => JSON.stringify(r)).join(',');
    await scenario(
      group,
      'upsertProviderConnection (existing)',
      proc.pid,
      url,
      luaScript(
        { ...h, 'Content-Type': 'application/json' },
        `local refs = {${refList}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("PUT", "/v1/providers/stripe/connections/" .. refs[(n % #refs) + 1], nil, '{"name":"Bench upsert ' .. (n % 7) .. '"}')
end`,
      ),
    );
  } finally {
    await proc.stop();
  }
  return sample;
}

// ---------------------------------------------------------------- scale (PostgreSQL)

const planNotes: string[] = [];

async function scale(total: number) {
  const db = await createTestDatabase();
  if (!('url' in db)) throw new Error(db.unavailable);
  const store: Store = { kind: 'postgres', env: { DATABASE_URL: db.url }, databaseUrl: db.url };
  const label = `${fmt(total)} connections`;
  if (!SCALE_SCENARIOS.some((name) => selected(`scale, PostgreSQL, ${label}`, name))) return void (await db.drop());
  console.log(`scale: ${label}`);
  let { proc, url } = startPatchbay(store, `scale-${total}-setup`);
  try {
    await waitFor(`${url}/readyz`);
    const { key, tenantIds, ids } = await setUp(url, 10, 1);
    await proc.stop();
    // Bulk load: the measured tenant holds a tenth, the nine others share the rest.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const t = performance.now();
    const cols = (await client.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'connections' ORDER BY ordinal_position`)).rows.map((r) => r.column_name as string);
    const own = Math.round(total / 10);
    const perOther = Math.round((total - own) / 9);
    for (let ti = 0; ti < 10; ti++) {
      const n = (ti === 0 ? own : perOther) - (ti === 0 ? 1 : 0);
      const select = cols.map((c) => {
        if (c === 'id') return `'conn_' || lpad(to_hex(${ti}::bigint * 100000000 + g), 26, '0')`;
        if (c === 'tenant_id') return `$2::text`;
        if (c === 'reference') return `'r-${ti}-' || g`;
        if (c === 'name') return `'Generated connection ' || g`;
        if (c === 'created_at' || c === 'updated_at') return `c.${c} - (g || ' seconds')::interval`;
        return `c.${c}`;
      });
      await client.query(`INSERT INTO connections (${cols.join(', ')}) SELECT ${select.join(', ')} FROM connections c, generate_series(1, $3::int) g WHERE c.id = $1`, [ids[0], tenantIds[ti], n]);
    }
    await client.query('ANALYZE connections');
    notes.push(`scale ${label}: bulk load (INSERT … generate_series) ${((performance.now() - t) / 1000).toFixed(1)} s`);
    ({ proc, url } = startPatchbay(store, `scale-${total}`));
    await waitFor(`${url}/readyz`);
    // A cursor far in: walk half the measured tenant's rows.
    let cursor = '';
    const step = own >= 1000 ? 100 : 10;
    for (let seen = 0; seen < own / 2; seen += step) {
      const r = await api(url, key, 'GET', `/v1/connections?limit=${step}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (r.status !== 200 || !r.json.next_cursor) break;
      cursor = r.json.next_cursor;
    }
    const h = luaScript({ 'X-Api-Key': key });
    const group = `scale, PostgreSQL, ${label}`;
    const o = { rounds: SCALE_ROUNDS, duration: SCALE_DURATION };
    await scenario(group, 'getConnection', proc.pid, `${url}/v1/connections/${ids[0]}`, h, o);
    await scenario(group, 'first list page', proc.pid, `${url}/v1/connections?limit=50`, h, o);
    await scenario(group, `deep list page (${fmt(own / 2)} in)`, proc.pid, `${url}/v1/connections?limit=50&cursor=${encodeURIComponent(cursor)}`, h, o);
    await scenario(group, 'text search q=', proc.pid, `${url}/v1/connections?limit=50&q=connection%2042`, h, o);
    await scenario(group, 'first page, include_total=true', proc.pid, `${url}/v1/connections?limit=50&include_total=true`, h, o);
    if (total === SCALE_LARGE) {
      const explain = async (sql: string) => (await client.query(`EXPLAIN (ANALYZE, BUFFERS OFF, TIMING OFF) ${sql}`, [tenantIds[0]])).rows.map((r) => r['QUERY PLAN']).join('\n');
      planNotes.push(
        `text search (the shape of the q= query):\n${await explain(`SELECT id FROM connections WHERE tenant_id = $1 AND archived_at IS NULL AND (name ILIKE '%connection 42%' OR reference ILIKE '%connection 42%') ORDER BY created_at, id LIMIT 51`)}`,
        `include_total (the count):\n${await explain(`SELECT count(*) FROM connections WHERE tenant_id = $1 AND archived_at IS NULL`)}`,
      );
    }
    await client.end();
  } finally {
    await proc.stop();
    await db.drop();
  }
}

// ---------------------------------------------------------------- report

function table(): string {
  const ceiling = median(rows.find((r) => r.name.startsWith('bare node:http'))?.rps ?? [NaN]);
  const lines = [
    `| group | scenario | req/s (median) | spread | × node:http | p50 ms | p99 ms | peak RSS MB | non-2xx | timeouts |`,
    `| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
  ];
  for (const r of rows) {
    const m = median(r.rps);
    lines.push(
      `| ${r.group} | ${r.name} | ${fmt(m)} | ${fmt(Math.min(...r.rps))}–${fmt(Math.max(...r.rps))} | ${(m / ceiling).toFixed(3)} | ${median(r.p50).toFixed(1)} | ${median(r.p99).toFixed(1)} | ${r.rssMb} | ${r.non2xx}${r.non2xx ? ' FAIL' : ''} | ${r.socketErrors}${r.socketErrors ? ' FAIL' : ''} |`,
    );
  }
  return lines.join('\n');
}

try {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('wrk is not installed: apt-get install -y wrk');
  }
  const db = await createTestDatabase();
  const stores: Store[] = [{ kind: 'pglite', env: { PATCHBAY_DATA_DIR: mkdtempSync(join(work, 'pglite-')) } }];
  if ('url' in db) stores.push({ kind: 'postgres', env: { DATABASE_URL: db.url }, databaseUrl: db.url });
  else notes.push(`PostgreSQL skipped: ${db.unavailable}`);
  let sample = '';
  try {
    for (const store of stores.reverse()) sample = (await patchbay(store)) || sample;
  } finally {
    if ('url' in db) await db.drop();
  }
  await baselines(sample);
  if ('url' in db) {
    await scale(1000);
    await scale(SCALE_LARGE);
  }
} catch (error) {
  failed = true;
  notes.push(`ABORTED: ${(error as Error).stack}`);
  console.error(error);
} finally {
  if (failed) console.error(`logs kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

const report = `# pnpm bench — ${new Date().toISOString()}

${quick ? 'Quick mode' : 'Full run'}: ${ROUNDS} round(s) of ${DURATION} s after a ${WARMUP}-s warm-up (scale: ${SCALE_ROUNDS} × ${SCALE_DURATION} s), wrk -t1 -c${CONNECTIONS} pinned to CPU 1, servers pinned to CPU 0. Medians; spread is min–max of the rounds' req/s. Ratios are to the node:http ceiling of this run only — compare within one run.

${table()}

${notes.map((n) => `- ${n}`).join('\n')}

${planNotes.map((p) => '```\n' + p + '\n```').join('\n\n')}

Run time: ${((performance.now() - started) / 1000).toFixed(0)} s.
`;
writeFileSync(OUT, report);
console.log(`\n${report}\n(written to ${OUT})`);
process.exitCode = failed ? 1 : 0;
