/** Runs the real server with an exact environment, for the cases support/processes.ts is not
 * for: a start that must fail, a variable that must be absent, an exit code to check. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serverMain } from './paths.js';

export interface ServerRun {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output: () => string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or the time runs out. */
  waitForOutput: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>;
  /** Resolves when the process exits; rejects (and kills it with SIGKILL) if it is still running after `timeoutMs`. */
  exit: (timeoutMs?: number) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops it if it still runs (SIGTERM, then SIGKILL). */
  stop: () => Promise<void>;
}

/**
 * Spawns apps/server/dist/main.js on 127.0.0.1, port 0, LOG_LEVEL=warn, with a data directory
 * of its own (PGlite, development keys) that is removed when it exits. The runner's own
 * PATCHBAY_*, NODE_ENV and DATABASE_URL are not passed on, so a test states all it depends
 * on; a variable given as undefined is absent.
 */
export function spawnServer(env: Record<string, string | undefined> = {}): ServerRun {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('PATCHBAY_') && name !== 'NODE_ENV' && name !== 'DATABASE_URL'),
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-server-run-'));
  const merged: Record<string, string | undefined> = { ...inherited, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', PATCHBAY_DATA_DIR: dataDir, ...env };
  const finalEnv = Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const child = spawn(process.execPath, [serverMain], { env: finalEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) =>
    // 'close' rather than 'exit': by then every byte of output has arrived.
    child.once('close', (code, signal) => {
      rmSync(dataDir, { recursive: true, force: true });
      resolveExit({ code, signal });
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
  };

  return {
    child,
    output: () => output,
    waitForOutput: (pattern, timeoutMs = 30_000) =>
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
          reject(new Error(`no ${pattern} in the server's output within ${timeoutMs} ms:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(() => {
          if (!listeners.has(check)) return;
          done();
          reject(new Error(`the server exited before printing ${pattern}:\n${output}`));
        });
        check();
      }),
    exit: async (timeoutMs = 30_000) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`the server was still running after ${timeoutMs} ms:\n${output}`)), timeoutMs);
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

/** The URL the server prints once it listens. */
export const LISTENING = /Patchbay server: (http:\/\/\S+)/;
