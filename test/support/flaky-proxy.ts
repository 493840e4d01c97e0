/** A small HTTP proxy in front of the real server that fails on purpose, for the client's
 * suites: it answers 503 or 429 instead of the server, drops the socket, stalls, or lets the
 * server do the work and then loses the answer. It records every request it receives, so a
 * test can count attempts and read the headers each one carried. */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyStep =
  /** Pass the request to the server and its answer back. */
  | 'forward'
  /** Close the socket without answering; the server never sees the request. */
  | 'drop'
  /** Never answer (the client has to give up). */
  | 'stall'
  /** The server handles the request, then the client's socket is closed: the answer is lost. */
  | 'forward-then-drop'
  /** Answer this instead of the server, which never sees the request. */
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** The server handles the request, and the client gets this answer instead of the server's. */
  | { forwardThen: { status: number; headers?: Record<string, string>; body?: unknown } };

export interface ProxiedRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: string;
  /** What the proxy did with it. */
  step: ProxyStep;
  /** When its last byte arrived (performance.now() of this process, like the client's clock). */
  at: number;
  /** The server's answer, when the request reached it. */
  upstream?: { status: number; headers: Record<string, string>; body: string };
}

export interface FlakyProxy {
  url: string;
  /** Every request received, in order. */
  requests: ProxiedRequest[];
  /** The requests that matched a plan's filter (see plan). */
  matching: () => ProxiedRequest[];
  /**
   * The next requests that `when` accepts (every request when omitted) meet these steps in
   * order; after the last step, they are forwarded. Requests `when` refuses are forwarded.
   */
  plan(steps: ProxyStep[], when?: (request: { method: string; path: string }) => boolean): void;
  close(): Promise<void>;
}

const INJECTED_CODES: Record<number, string> = { 409: 'conflict', 429: 'rate_limited', 503: 'not_ready' };
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

export async function startFlakyProxy(target: string): Promise<FlakyProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const matched: ProxiedRequest[] = [];
  let steps: ProxyStep[] = [];
  let filter: (request: { method: string; path: string }) => boolean = () => true;
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<NonNullable<ProxiedRequest['upstream']>>((resolve, reject) => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: flat(res.headers), body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const answer = (res: ServerResponse, status: number, headers: Record<string, string>, body: string) => {
    const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    res.writeHead(status, { ...kept, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  };
  // An injected answer: a problem like the server's unless a body is given (a string is sent as text).
  const problem = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (typeof body === 'string') return { headers: { 'content-type': 'text/html', ...headers }, body };
    if (body !== undefined) return { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
    const code = INJECTED_CODES[status] ?? 'injected';
    return { headers: { 'content-type': 'application/problem+json', ...headers }, body: JSON.stringify({ type: `https://patchbay.dev/problems/${code.replaceAll('_', '-')}`, title: 'Injected by the flaky proxy', status, code, request_id: 'req_flaky_proxy' }) };
  };

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const method = req.method!;
    const path = req.url!;
    const isMatch = filter({ method, path });
    const step: ProxyStep = isMatch ? (steps.shift() ?? 'forward') : 'forward';
    const record: ProxiedRequest = { method, path, headers: flat(req.headers), body: body.toString('utf8'), step, at: performance.now() };
    requests.push(record);
    if (isMatch) matched.push(record);
    try {
      if (step === 'drop') return void req.socket.destroy();
      if (step === 'stall') return;
      if (typeof step === 'object' && 'status' in step) {
        const injected = problem(step.status, step.body, step.headers);
        return answer(res, step.status, injected.headers, injected.body);
      }
      record.upstream = await forward(req, body);
      if (step === 'forward-then-drop') return void req.socket.destroy();
      if (typeof step === 'object') {
        const injected = problem(step.forwardThen.status, step.forwardThen.body, step.forwardThen.headers);
        return answer(res, step.forwardThen.status, injected.headers, injected.body);
      }
      answer(res, record.upstream.status, record.upstream.headers, record.upstream.body);
    } catch (error) {
      answer(res, 502, { 'content-type': 'text/plain' }, `flaky proxy: ${(error as Error).message}`);
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    matching: () => matched,
    plan(next, when) {
      steps = [...next];
      filter = when ?? (() => true);
      matched.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function flat(headers: IncomingMessage['headers']): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')]));
}
