/** Graceful shutdown (apps/server/src/main.ts): SIGTERM stops accepting connections, lets
 * requests in flight finish, and exits 0, so an orchestrator's rolling restart loses nothing. */
import { once } from 'node:events';
import { Agent, request, type IncomingMessage } from 'node:http';
import { describe, it } from 'vitest';
import { LISTENING, spawnServer, type ServerRun } from '../support/processes.js';

const ADMIN_KEY = 'pb_test_shutdown_admin_key_0123456789';
/** Under the 10 s after which the server gives up on connections and closes them, with room for a loaded 2-core machine. */
const PROMPTLY_MS = 9_000;

/** The messages of the server's JSON log lines. */
const logMessages = (run: ServerRun) =>
  run
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg: string }).msg);

async function readBody(response: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of response) body += String(chunk);
  return body;
}

/** Starts a server at LOG_LEVEL=info. It is quiet once it listens: main.ts compiles the
 * validators and warms the store in-process before listening (decision 0029), with no
 * request of its own that could still be in flight when a test sends the signal. */
async function startQuietServer(): Promise<{ run: ServerRun; url: string }> {
  const run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'info' });
  const [, url = ''] = await run.waitForOutput(LISTENING);
  return { run, url };
}

/**
 * Sends the headers and half the body of a POST, so that the request is in flight until
 * `finish`; resolves once the server has accepted its connection: the half body has been
 * written to a connected socket, and then a request on a connection opened after it has been
 * answered (the server accepts connections in the order they came). No sleeping.
 */
async function startSlowRequest(url: string, agent: Agent | false) {
  const inFlight = request(`${url}/v1/providers`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'X-Api-Key': ADMIN_KEY } });
  const answered = once(inFlight, 'response') as Promise<[IncomingMessage]>;
  const [socket] = (await once(inFlight, 'socket')) as [import('node:net').Socket];
  if (socket.connecting) await once(socket, 'connect');
  await new Promise<void>((resolve, reject) => inFlight.write('{"name": ', (error) => (error ? reject(error) : resolve())));
  const probe = await fetch(`${url}/healthz`, { headers: { Connection: 'close' } });
  await probe.arrayBuffer();
  return { answered, finish: () => inFlight.end('"Acme"}') };
}

// One server at a time: each opens its own PGlite, which is CPU-bound for seconds.
describe('SIGTERM', () => {
  it('exits with code 0, logging that it stopped, without waiting for an idle keep-alive connection', async ({ expect }) => {
    const { run, url } = await startQuietServer();
    const agent = new Agent({ keepAlive: true });
    try {
      // The agent keeps this connection open, idle, after the answer.
      const response = await new Promise<IncomingMessage>((resolve) => request(`${url}/healthz`, { agent }, resolve).end());
      expect(response.statusCode).toBe(200);
      await readBody(response);

      run.child.kill('SIGTERM');
      const { code, signal } = await run.exit(PROMPTLY_MS);
      expect(signal).toBeNull();
      expect(code, run.output()).toBe(0);
      // Both lines, in either order: pino writes asynchronously and main.ts exits without a
      // flush, so 'stopped' sometimes lands before 'shutting down'.
      expect(logMessages(run)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      agent.destroy();
      await run.stop();
    }
  });

  it('lets a request in flight finish before it exits', async ({ expect }) => {
    const { run, url } = await startQuietServer();
    try {
      const slow = await startSlowRequest(url, false);

      run.child.kill('SIGTERM');
      await run.waitForOutput(/"msg":"shutting down"/);
      expect(run.child.exitCode).toBeNull();
      slow.finish();

      const [response] = await slow.answered;
      const body = JSON.parse(await readBody(response)) as { code: string };
      // A complete answer from the route (it has no POST), not a reset connection.
      expect(response.statusCode).toBe(405);
      expect(body.code).toBe('method_not_allowed');
      const { code } = await run.exit(PROMPTLY_MS);
      expect(code, run.output()).toBe(0);
    } finally {
      await run.stop();
    }
  });

  // A keep-alive connection that was busy when SIGTERM came must be closed once its answer
  // is sent, not held until the 10 s forced close.
  it('closes a keep-alive connection once its request in flight is answered, and exits promptly', async ({ expect }) => {
    const { run, url } = await startQuietServer();
    const agent = new Agent({ keepAlive: true });
    try {
      const slow = await startSlowRequest(url, agent);

      run.child.kill('SIGTERM');
      await run.waitForOutput(/"msg":"shutting down"/);
      slow.finish();
      const [response] = await slow.answered;
      expect(response.statusCode).toBe(405);
      await readBody(response);

      const { code } = await run.exit(PROMPTLY_MS);
      expect(code, run.output()).toBe(0);
      expect(logMessages(run)).not.toContain('requests still in flight after 10 s; closing them');
    } finally {
      agent.destroy();
      await run.stop();
    }
  });
});
