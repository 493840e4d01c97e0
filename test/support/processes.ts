/** The one way the suites start the real server and the real mock: child processes on free
 * ports, with an environment the caller states in full. The runner's own DATABASE_URL,
 * PATCHBAY_* and NODE_ENV are never passed on (turbo passes DATABASE_URL through, so a
 * "PGlite" server would otherwise quietly run on PostgreSQL), and a started server is checked
 * to run on the store it was asked for: its listening line names it (`database: pglite`).
 * Every byte a process prints is also appended to a log file of the run, which the global
 * teardown scans for secrets (support/secrets.ts). */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockMain, serverMain } from './paths.js';

/** The directory of this vitest run (made by the global setup): log files and the secrets the factories made. */
export const RUN_DIR_VARIABLE = 'PATCHBAY_TEST_RUN_DIR';

/** Where the output of processes started by this run goes, or null outside a vitest run (benchmarks). */
export function logDir(): string | null {
  const runDir = process.env[RUN_DIR_VARIABLE];
  if (!runDir) return null;
  const dir = join(runDir, 'logs');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export interface ProcessRun {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output: () => string;
  /** The file every line of output is appended to (null outside a vitest run). */
  logFile: string | null;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or the time runs out. */
  waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  /** Resolves when the process exits; rejects (and kills it with SIGKILL) if it is still running after `timeoutMs`. */
  exit: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it if it still runs (SIGTERM, then SIGKILL after 10 s). */
  stop: () => Promise<void>;
}

/** A server process; its data directory is removed once it has exited unless the caller gave it. */
export type ServerRun = ProcessRun;

/** The runner's environment without what configures a server or a mock. */
function baseEnvironment(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && !entry[0].startsWith('PATCHBAY_') && entry[0] !== 'NODE_ENV' && entry[0] !== 'DATABASE_URL',
    ),
  );
}

function spawnProcess(kind: 'server' | 'mock', script: string, env: Record<string, string | undefined>, args: string[], onExit: () => void = () => undefined): ProcessRun {
  const merged: Record<string, string | undefined> = { ...baseEnvironment(), HOST: '127.0.0.1', PORT: '0', ...env };
  const finalEnv = Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(process.execPath, [script, ...args], { env: finalEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const dir = logDir();
  const logFile = dir ? join(dir, `${kind}-${child.pid}.log`) : null;
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (logFile) appendFileSync(logFile, chunk);
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    // 'close' rather than 'exit': by then every byte of output has arrived.
    child.once('close', (code, signal) => {
      onExit();
      resolveExit({ code, signal });
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    } else {
      await exited;
    }
  };

  return {
    child,
    output: () => output,
    logFile,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise((resolveWait, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (match) {
            done();
            resolveWait(match);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${pattern} in the ${kind}'s output within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!listeners.has(check)) return;
          done();
          reject(new Error(`the ${kind} exited before printing ${pattern}:\n${output}`));
        });
        check();
      }),
    exit: async (timeoutMs = 60_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the ${kind} was still running after ${timeoutMs} ms:\n${output}`)), timeoutMs);
      });
      try {
        return await Promise.race([exited, timeout]);
      } catch (error) {
        // Already a failure: do not wait for a graceful stop that did not come.
        child.kill('SIGKILL');
        await exited;
        throw error;
      } finally {
        clearTimeout(timer);
      }
    },
    stop,
  };
}

/**
 * Spawns apps/server/dist/main.js on 127.0.0.1, port 0, LOG_LEVEL=warn, with a data directory
 * of its own (PGlite, development keys) that is removed when it exits unless `options.dataDir`
 * is given. Only `env` configures it; a variable given as undefined is absent. For starts that
 * must fail, or exit codes to check; startServer() is this plus the listening and store checks.
 * It runs in development mode (PATCHBAY_DEV=true: generated keys where none are given) unless
 * `env` says NODE_ENV=production or names PATCHBAY_DEV itself (undefined: not asked for);
 * `options.args` are passed to main.js (`--dev`); `options.main` runs another build of it (a
 * benchmark's A/B: a copy of an earlier dist/).
 */
export function spawnServer(env: Record<string, string | undefined> = {}, options: { dataDir?: string; args?: string[]; main?: string } = {}): ServerRun {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'patchbay-server-run-'));
  const removeDataDir = options.dataDir ? () => undefined : () => rmSync(dataDir, { recursive: true, force: true });
  const development = 'PATCHBAY_DEV' in env || env.NODE_ENV === 'production' ? {} : { PATCHBAY_DEV: 'true' };
  // Without the warm-up (decision 0029): the suite starts hundreds of servers that each serve
  // a few operations; test/server/start-up.test.ts and the benchmarks turn it back on.
  return spawnProcess('server', options.main ?? serverMain, { LOG_LEVEL: 'warn', PATCHBAY_WARM_UP: 'false', PATCHBAY_DATA_DIR: dataDir, ...development, ...env }, options.args ?? [], removeDataDir);
}

/** The URL the server prints once it listens. */
export const LISTENING = /Patchbay server: (http:\/\/\S+)/;
/** The listening line, with the store the server opened (main.ts prints `database: <kind>`). */
const LISTENING_ON_STORE = /Patchbay server: (http:\/\/\S+)[^\n]*database: (\w+)/;

/** Which store a server is to run on: the embedded PGlite, or PostgreSQL at `databaseUrl`. */
export type StoreChoice = { store: 'pglite' } | { store: 'postgres'; databaseUrl: string };

export interface RunningServer {
  url: string;
  /** The store the server says it opened (checked to be the one asked for). */
  store: 'pglite' | 'postgres';
  dataDir: string;
  run: ServerRun;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts a server on the store asked for, with exactly `env` besides (PATCHBAY_ADMIN_KEY,
 * PATCHBAY_MASTER_KEY, ...), and waits until it listens. Fails, stopping it, when the server
 * says it runs on another store than the one asked for.
 */
export async function startServer(choice: StoreChoice, env: Record<string, string | undefined> = {}, options: { dataDir?: string; timeoutMs?: number; main?: string } = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'patchbay-test-'));
  const run = spawnServer({ ...(choice.store === 'postgres' ? { DATABASE_URL: choice.databaseUrl } : {}), ...env }, { dataDir, ...(options.main ? { main: options.main } : {}) });
  const removeDataDir = () => {
    if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const stop = () => run.stop().finally(removeDataDir);
  try {
    const [, url = '', store = ''] = await run.waitForOutput(LISTENING_ON_STORE, options.timeoutMs ?? 90_000);
    if (store !== choice.store) {
      throw new Error(`a server started to run on ${choice.store} says it runs on "${store}" (its listening line: ${LISTENING_ON_STORE.exec(run.output())?.[0]})`);
    }
    return { url, store, dataDir, run, output: run.output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The mock, not watching anything, with exactly `env` besides; `args` are its flags (--dynamic, --seed=...). */
export async function startMock(env: Record<string, string | undefined> = {}, args: string[] = []): Promise<{ url: string; run: ProcessRun; output: () => string; stop: () => Promise<void> }> {
  const run = spawnProcess('mock', mockMain, { PATCHBAY_MOCK_WATCH: 'off', ...env }, args);
  try {
    const [, url = ''] = await run.waitForOutput(/Patchbay mock: (http:\/\/[^\s]+)/, 90_000);
    return { url, run, output: run.output, stop: run.stop };
  } catch (error) {
    await run.stop();
    throw error;
  }
}

export type RunningProcess = Awaited<ReturnType<typeof startMock>> | RunningServer;
