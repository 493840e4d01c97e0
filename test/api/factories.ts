/** Factories for the API suites: tenants with their own keys, connection bodies that satisfy
 * the provider schemas, and secret values distinctive enough to search responses for. Every
 * secret made here is registered with the one scanner (support/secrets.ts). */
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { PatchbayClient, RequestBody, ResponseBody } from '@patchbay/client';
import { registerSecret } from '../support/secrets.js';
import { newTenantKey, type Target } from '../support/targets.js';

export { expectNoSecrets } from '../support/secrets.js';

export type Connection = ResponseBody<'getConnection', 200>;
export type ConnectionCreate = RequestBody<'createConnection'>;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `n` random alphanumerics. */
export function alnum(n: number): string {
  const bytes = randomBytes(n);
  return Array.from(bytes, (b) => ALNUM[b % ALNUM.length]).join('');
}

/** A reference no other test uses (the server and database are shared by the whole run). */
export const uniqueRef = (prefix = 'ref'): string => `${prefix}-${randomUUID()}`;

/** A secret value: `prefix` then `n` random alphanumerics, registered with the scanner. */
export const secretValue = (prefix = '', n = 24): string => registerSecret(`${prefix}${alnum(n)}`, `a secret made by the factories (${prefix || 'no prefix'})`);

/** A Stripe secret key that satisfies the catalog's pattern. */
export const stripeSecret = (): string => secretValue('sk_test_');
export const stripeWebhookSecret = (): string => secretValue('whsec_');

/** A fresh tenant, its key and a client using that key. */
export async function tenant(target: Target, scopes?: string[]) {
  const key = await newTenantKey(target, scopes);
  return { ...key, client: target.client({ apiKey: key.apiKey }) };
}

/** A createConnection body: a Stripe connection with a complete set of credentials. */
export function buildConnection(overrides: Partial<ConnectionCreate> = {}): ConnectionCreate {
  return {
    provider: 'stripe',
    reference: uniqueRef(),
    name: 'Stripe EU',
    credentials: { secret_key: stripeSecret() },
    ...overrides,
  } as ConnectionCreate;
}

/** Creates a connection and fails the test unless the server answers 201. */
export async function createConnection(client: PatchbayClient, overrides: Partial<ConnectionCreate> = {}): Promise<Connection> {
  const body = buildConnection(overrides);
  const { response, data, error } = await client.POST('/v1/connections', { body });
  expect(response.status, JSON.stringify(error)).toBe(201);
  return data as Connection;
}

/** Every event of a connection, newest first. */
export async function eventsOf(client: PatchbayClient, connectionId: string) {
  const { response, data } = await client.GET('/v1/connections/{connectionId}/events', { params: { path: { connectionId }, query: { limit: 200 } } });
  expect(response.status).toBe(200);
  return data!.data;
}
