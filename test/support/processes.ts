/** Starts the real server and the real mock as child processes on free ports, and stops
 * them by pid. Each prints its URL on a line of its own once it listens. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mockMain, serverMain } from './paths.js';

export interface RunningProcess {
  url: string;
  /** The server's data directory (servers only). */
  dataDir?: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

function start(script: string, banner: RegExp, env: Record<string, string>, args: string[] = [], timeoutMs = 60_000): Promise<RunningProcess> {
  const child = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = () =>
    new Promise<void>((resolveStop) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolveStop();
      child.once('exit', () => resolveStop());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    });
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = banner.exec(output);
      if (match) {
        clearTimeout(timer);
        resolveStart({ url: match[1]!, child, output: () => output, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it listened:\n${output}`));
    });
  });
}

/** A server on its own temporary data directory (PGlite and development keys), removed on stop. */
export async function startServer(env: Record<string, string> = {}): Promise<RunningProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-test-'));
  const running = await start(serverMain, /Patchbay server: (http:\/\/[^\s]+)/, { LOG_LEVEL: 'warn', PATCHBAY_DATA_DIR: dataDir, ...env }).catch((error: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  });
  const stop = running.stop;
  return { ...running, dataDir, stop: () => stop().finally(() => rmSync(dataDir, { recursive: true, force: true })) };
}

/** The mock, not watching anything; `args` are its command-line flags (--dynamic, --seed=...). */
export function startMock(env: Record<string, string> = {}, args: string[] = []): Promise<RunningProcess> {
  return start(mockMain, /Patchbay mock: (http:\/\/[^\s]+)/, { PATCHBAY_MOCK_WATCH: 'off', ...env }, args);
}
