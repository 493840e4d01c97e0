/** Starts the processes every suite shares and hands their URLs to the suites: the real
 * server on the embedded PGlite, the real server on PostgreSQL (a fresh database), and the
 * mock. One PGlite for the whole run: each costs ~700 MB and seconds to open. */
import type { TestProject } from 'vitest/node';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { startMock, startServer, type RunningProcess } from './processes.js';

export const BOOTSTRAP_ADMIN_KEY = 'pb_test_bootstrap_admin_key_0123456789';
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

export async function setup(project: TestProject): Promise<void> {
  const serverEnv = { PATCHBAY_ADMIN_KEY: BOOTSTRAP_ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY };
  const pgDatabase = await createTestDatabase();
  database = 'url' in pgDatabase ? pgDatabase : undefined;
  if (!database) console.warn(`\n  SKIPPING the PostgreSQL runs: ${(pgDatabase as { unavailable: string }).unavailable}\n`);
  const started = await Promise.allSettled([
    startServer(serverEnv),
    startMock(),
    database ? startServer({ ...serverEnv, DATABASE_URL: database.url }) : Promise.resolve(undefined),
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
  project.provide('postgresUnavailable', database ? null : (pgDatabase as { unavailable: string }).unavailable);
  project.provide('adminKey', BOOTSTRAP_ADMIN_KEY);
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((p) => p.stop()));
  await database?.drop().catch(() => undefined);
}
