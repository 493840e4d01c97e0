/**
 * verifyWebhook: checks a delivery from Patchbay per the Standard Webhooks specification
 * (webhook-id, webhook-timestamp, webhook-signature: `v1,<base64 HMAC-SHA256 of
 * id.timestamp.body>`, space-separated while a rotated secret still signs), refusing a
 * timestamp outside the tolerance window (replays). Web Crypto only: Node 20+ and browsers.
 */
import type { connections } from '@patchbay/api-types';

type Schemas = connections.components['schemas'];
/** Any event Patchbay sends, discriminated by `type` (the payload schemas of the spec's `webhooks`). */
export type WebhookEvent =
  | Schemas['WebhookConnectionCreated']
  | Schemas['WebhookConnectionUpdated']
  | Schemas['WebhookConnectionReplaced']
  | Schemas['WebhookConnectionCredentialsReplaced']
  | Schemas['WebhookConnectionStatusChanged']
  | Schemas['WebhookConnectionSyncFailed']
  | Schemas['WebhookConnectionRecovered']
  | Schemas['WebhookConnectionArchived']
  | Schemas['WebhookEndpointDisabled']
  | Schemas['WebhookConnectSessionCompleted'];

export interface VerifyWebhookOptions {
  /** How far webhook-timestamp may be from now, in seconds (default 300, as Standard Webhooks suggests). */
  toleranceSeconds?: number;
  /** The current time (tests). */
  now?: Date;
}

/** A delivery that is not from Patchbay, or is too old or too new to accept. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/**
 * Verifies a delivery and returns its event. `body` is the raw request body as received
 * (before any JSON parsing); `secret` the endpoint's `whsec_...` secret, or several during a
 * rotation. Throws WebhookVerificationError when no signature matches or the timestamp is
 * outside the tolerance window.
 */
export async function verifyWebhook(body: string, headers: HeaderSource, secret: string | readonly string[], options: VerifyWebhookOptions = {}): Promise<WebhookEvent> {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature');
  const seconds = Number(timestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (!/^\d+$/.test(timestamp) || Math.abs(now - seconds) > tolerance) throw new WebhookVerificationError('webhook-timestamp is outside the tolerance window');
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${body}`);
  const offered = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => s.slice(3));
  for (const candidate of typeof secret === 'string' ? [secret] : secret) {
    const key = await crypto.subtle.importKey('raw', fromBase64(candidate.replace(/^whsec_/, '')), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
    for (const signature of offered) {
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = fromBase64(signature);
      } catch {
        continue;
      }
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify('HMAC', key, bytes, signed)) return JSON.parse(body) as WebhookEvent;
    }
  }
  throw new WebhookVerificationError('no webhook-signature matches the secret');
}
