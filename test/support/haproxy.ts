/** HAProxy in front of several server processes, for the scale-out test (issue 12): Debian's
 * haproxy (2.6; .ci/run installs it), run in the foreground (`-db`) as a child process of the
 * test, with a configuration written to a temporary directory, and stopped by its pid.
 *
 * What the configuration does, and why:
 * - `mode http`, `balance roundrobin`: consecutive requests go to the next backend, so a few
 *   requests reach every process;
 * - a health check `GET /readyz` every second, with room for a loaded machine (5 s to answer,
 *   three failures in a row to be taken out, two successes to come back): a slow /readyz under
 *   load must not take every backend out at once;
 * - passive checks on the traffic (`observe layer4 error-limit 1 on-error mark-down`): the first
 *   connection refused by a killed backend takes it out at once, without waiting for the checks;
 * - `retries 3` with `option redispatch 1`: a request whose connection to a dead backend is
 *   refused is sent to another backend on its first retry (HAProxy retries only connection
 *   failures by default, never a request the backend may have received: a POST is not replayed
 *   behind the client's back);
 * - `http-response set-header X-Patchbay-Backend %[srv_name]`: names the backend that answered,
 *   so a test can see that the requests were balanced. The proxy adds it; the product has no
 *   such header.
 * Its output (no request log) goes to the run's log directory like the servers'. Without
 * haproxy the scale-out test is reported as skipped with how to install it, and under CI it
 * fails instead (like chromium for the browser test). */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { underCi } from './ci.js';
import { logDir } from './processes.js';

/** Where Debian's package puts it; HAPROXY_PATH overrides. */
export const HAPROXY_PATH = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
export const HOW_TO_GET_HAPROXY = 'apt-get install -y haproxy (Debian 12: 2.6), or set HAPROXY_PATH to a haproxy binary; .ci/run installs it';
/** Why the scale-out test is skipped on this machine (no haproxy, not under CI), or null when
 * it runs. Under CI a missing haproxy is never a skip: startHaproxy() then fails, saying how
 * to install it. */
export function haproxySkipReason(): string | null {
  return existsSync(HAPROXY_PATH) || underCi ? null : `SKIPPED (not under CI): no haproxy at ${HAPROXY_PATH}; to run the scale-out test, ${HOW_TO_GET_HAPROXY}.`;
}

/** The response header that names the backend which answered (added by HAProxy, not by Patchbay). */
export const BACKEND_HEADER = 'x-patchbay-backend';

/** A free TCP port on 127.0.0.1: listens on port 0, reads the port, closes. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Backend {
  /** The server name HAProxy reports in X-Patchbay-Backend. */
  name: string;
  port: number;
}

export interface RunningHaproxy {
  url: string;
  pid: number;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

export function haproxyConfig(port: number, backends: Backend[]): string {
  return [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout check 5s',
    '  retries 3',
    '  option redispatch 1',
    `frontend patchbay`,
    `  bind 127.0.0.1:${port}`,
    '  default_backend servers',
    'backend servers',
    '  balance roundrobin',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server inter 1s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down',
    `  http-response set-header X-Patchbay-Backend %[srv_name]`,
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check`),
    '',
  ].join('\n');
}

/**
 * Starts HAProxy on a free port of 127.0.0.1 in front of `backends` and resolves once it
 * listens. Throws when the binary is missing or HAProxy exits (a configuration error: its
 * output says which line).
 */
export async function startHaproxy(backends: Backend[]): Promise<RunningHaproxy> {
  if (!existsSync(HAPROXY_PATH)) throw new Error(`no haproxy at ${HAPROXY_PATH}: ${HOW_TO_GET_HAPROXY}`);
  const dir = mkdtempSync(join(tmpdir(), 'patchbay-haproxy-'));
  const port = await freePort();
  const configFile = join(dir, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig(port, backends));
  const logs = logDir();
  const child = spawn(HAPROXY_PATH, ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logFile = logs ? join(logs, `haproxy-${child.pid}.log`) : null;
  let output = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  // Listening: a TCP connection to the port succeeds (HAProxy prints nothing when it starts).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!running()) {
      await stop();
      throw new Error(`haproxy exited at start:\n${output}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`haproxy did not listen on ${url} within 15 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, pid: child.pid!, child, output: () => output, stop };
}
