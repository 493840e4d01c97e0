/** Starts the processes every suite shares and hands their URLs to the suites: the real
 * server on the embedded PGlite, the real server on PostgreSQL (a fresh database), and the
 * mock. One PGlite for the whole run: each costs ~700 MB and seconds to open.
 * Without PostgreSQL the run fails under CI, saying how to get one; elsewhere the PostgreSQL
 * target's tests are reported as skipped (support/targets.ts), never dropped.
 * The teardown scans every line printed by every server and mock of the run for every secret
 * the run registered (support/secrets.ts) and fails the run, naming the file and line. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { underCi } from './ci.js';
import { ADMIN_URL, createTestDatabase, HOW_TO_GET_POSTGRES, type TestDatabase } from './postgres.js';
import { RUN_DIR_VARIABLE, startMock, startServer, type RunningProcess } from './processes.js';
import { countRunSecrets, registerSecret, scanRunLogs } from './secrets.js';
import { startJwksServer, type JwksServer } from './jwks-server.js';

export const BOOTSTRAP_ADMIN_KEY = 'pb_test_bootstrap_admin_key_0123456789';
/** The origin the shared servers allow connect sessions to return to (PATCHBAY_CONNECT_RETURN_ORIGINS). */
export const CONNECT_RETURN_ORIGIN = 'https://app.acme.test';
export const MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    postgresServerUrl: string | null;
    postgresDatabaseUrl: string | null;
    postgresUnavailable: string | null;
    mockUrl: string;
    adminKey: string;
  }
}

let running: RunningProcess[] = [];
let database: TestDatabase | undefined;
let runDir: string | undefined;
let jwks: JwksServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // The test workers inherit this (they are started after the global setup).
  runDir = mkdtempSync(join(tmpdir(), 'patchbay-test-run-'));
  process.env[RUN_DIR_VARIABLE] = runDir;
  registerSecret(BOOTSTRAP_ADMIN_KEY, 'the bootstrap admin key');
  registerSecret(MASTER_KEY, 'the master key');
  const password = decodeURIComponent(new URL(ADMIN_URL).password);
  if (password) registerSecret(password, 'the PostgreSQL password of PATCHBAY_TEST_DATABASE_URL');

  // The shared servers also trust Bearer tokens signed by keys this run generates (support/tokens.ts).
  jwks = await startJwksServer();
  for (const key of Object.values(jwks.keys)) registerSecret(String(key.d), `the private ${key.alg} key of the run's JWKS`);
  // LOG_LEVEL=info: one line per request, so the teardown's secret scan reads what every request logged.
  const serverEnv = { PATCHBAY_ADMIN_KEY: BOOTSTRAP_ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'info', PATCHBAY_CONNECT_RETURN_ORIGINS: CONNECT_RETURN_ORIGIN, ...jwks.serverEnv };
  const pgDatabase = await createTestDatabase();
  database = 'url' in pgDatabase ? pgDatabase : undefined;
  const unavailable = 'unavailable' in pgDatabase ? pgDatabase.unavailable : null;
  if (unavailable) {
    if (underCi) throw new Error(`CI=${process.env.CI}: the suite needs PostgreSQL, and ${unavailable}. To fix: ${HOW_TO_GET_POSTGRES}.`);
    console.warn(`\n  SKIPPING the PostgreSQL target (reported as skipped; under CI this fails): ${unavailable}\n  To run it: ${HOW_TO_GET_POSTGRES}.\n`);
  }
  const started = await Promise.allSettled([
    startServer({ store: 'pglite' }, serverEnv),
    startMock(),
    database ? startServer({ store: 'postgres', databaseUrl: database.url }, serverEnv) : Promise.resolve(undefined),
  ]);
  running = started.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value] : []));
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    // Stop what did start, so no process or temporary data directory outlives the run.
    await teardown();
    throw failure.reason;
  }
  const [server, mock, pgServer] = started.map((r) => (r as PromiseFulfilledResult<RunningProcess | undefined>).value) as [RunningProcess, RunningProcess, RunningProcess | undefined];
  project.provide('serverUrl', server.url);
  project.provide('mockUrl', mock.url);
  project.provide('postgresServerUrl', pgServer?.url ?? null);
  project.provide('postgresDatabaseUrl', database?.url ?? null);
  project.provide('postgresUnavailable', unavailable);
  project.provide('adminKey', BOOTSTRAP_ADMIN_KEY);
  project.provide('jwksUrl', jwks.url);
  project.provide('tokenKeys', jwks.keys);
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((p) => p.stop()));
  running = [];
  await jwks?.stop();
  jwks = undefined;
  await database?.drop().catch(() => undefined);
  database = undefined;
  if (!runDir) return;
  // Every process this run started (here and in the test files) has exited by now.
  const leaks = scanRunLogs(runDir);
  const checked = countRunSecrets(runDir);
  // A test case of its own in a JUnit report, so .ci/run counts it; vitest does not fail the
  // run on an error thrown here, hence the exit code as well.
  writeScanReport(leaks, checked);
  if (leaks.length) {
    process.exitCode = 1;
    throw new Error(`secret scan of the logs of every server and mock of this run (kept in ${runDir}/logs): ${leaks.length} leak(s):\n  ${leaks.join('\n  ')}`);
  }
  console.log(`secret scan: no secret of the ${checked} this run registered in any line its servers and mocks printed`);
  rmSync(runDir, { recursive: true, force: true });
  runDir = undefined;
}

/** test/.reports/junit-secret-scan.xml: the log scan as one test case, failed with every leak it found. */
function writeScanReport(leaks: string[], checked: number): void {
  const reports = join(dirname(fileURLToPath(import.meta.url)), '..', '.reports');
  mkdirSync(reports, { recursive: true });
  const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
  const name = `no secret of the ${checked} registered in any log line of any server or mock of the run`;
  const failure = leaks.length ? `<failure message="${escape(`${leaks.length} leak(s)`)}">${escape(leaks.join('\n'))}</failure>` : '';
  writeFileSync(
    join(reports, 'junit-secret-scan.xml'),
    `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="secret scan" tests="1" failures="${leaks.length ? 1 : 0}" errors="0">\n<testsuite name="support/global-setup.ts" tests="1" failures="${leaks.length ? 1 : 0}">\n<testcase classname="support/global-setup.ts" name="${escape(name)}">${failure}</testcase>\n</testsuite>\n</testsuites>\n`,
  );
}
