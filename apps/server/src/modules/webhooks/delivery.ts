/**
 * One attempt of one delivery over HTTP(S): signed per Standard Webhooks, with a time limit,
 * redirects not followed, only 2xx counting, and the receiver's address checked when the
 * connection is made (after DNS resolution), so a name that resolves to a private or loopback
 * address is refused (SSRF). Loopback is allowed only in development mode.
 */
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';

/** `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under each secret, space-separated. */
export function signatureHeader(secrets: string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
    })
    .join(' ');
}

/** Loopback addresses (IPv4 127/8, ::1, and IPv4-mapped loopback). */
export function isLoopback(address: string): boolean {
  const a = address.replace(/^::ffff:/i, '');
  return /^127\./.test(a) || a === '::1';
}

/** Addresses a receiver may never be at in production: loopback, private, link-local, CGNAT, unspecified, multicast. */
export function isPrivateAddress(address: string): boolean {
  const a = address.replace(/^::ffff:/i, '').toLowerCase();
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number];
    return x === 0 || x === 10 || x === 127 || (x === 100 && y >= 64 && y <= 127) || (x === 169 && y === 254) || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || x >= 224;
  }
  return a === '::' || a === '::1' || /^f[cd]/.test(a) || /^fe[89ab]/.test(a) || /^ff/.test(a);
}

/** Whether a delivery may connect to `address`. */
export function addressAllowed(address: string, development: boolean): boolean {
  if (development && isLoopback(address)) return true;
  return !isPrivateAddress(address);
}

export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  responseBody: string | null;
  error: string | null;
  ok: boolean;
}

const MAX_BODY = 1024;

export function send(url: string, headers: Record<string, string>, body: string, options: { timeoutMs: number; development: boolean }): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<AttemptResult, 'latencyMs' | 'ok'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
      resolve({ ...result, latencyMs: elapsed(), ok });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      done({ statusCode: null, responseBody: null, error: 'invalid URL' });
      return;
    }
    // An address in the URL is not looked up: check it here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) && !addressAllowed(literal, options.development)) {
      done({ statusCode: null, responseBody: null, error: `refused address ${literal}` });
      return;
    }
    // Checked at connect time, on every address the name resolved to.
    const lookup = (hostname: string, opts: object, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
      dnsLookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 4);
        const list = addresses as LookupAddress[];
        const refused = list.find((a) => !addressAllowed(a.address, options.development));
        if (refused || list.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`refused address ${refused?.address ?? '(none)'}`);
          error.code = 'EREFUSEDADDRESS';
          return callback(error, '', 4);
        }
        if ((opts as { all?: boolean }).all) return callback(null, list);
        callback(null, list[0]!.address, list[0]!.family);
      });
    };
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(
      target,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: lookup as never, agent: false },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (text.length < MAX_BODY) text += chunk;
        });
        response.on('end', () => {
          const status = response.statusCode ?? null;
          const redirect = status !== null && status >= 300 && status < 400;
          done({ statusCode: status, responseBody: text.slice(0, MAX_BODY), error: redirect ? 'redirect not followed' : null });
        });
        response.on('error', () => done({ statusCode: response.statusCode ?? null, responseBody: text.slice(0, MAX_BODY), error: 'response interrupted' }));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      done({ statusCode: null, responseBody: null, error: `timed out after ${options.timeoutMs} ms` });
    }, options.timeoutMs);
    request.on('error', (err: NodeJS.ErrnoException) => {
      done({ statusCode: null, responseBody: null, error: err.code === 'EREFUSEDADDRESS' ? err.message : `connection failed (${err.code ?? 'error'})` });
    });
    request.end(body);
  });
}
