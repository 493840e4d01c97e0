/**
 * Seed 000, a POS integration service: `PUT /api/v1/provider-connections/{slug}` creates or
 * updates a store's connection to its POS provider (key and secret, base and webhook URLs,
 * free config), and a sync worker reports the last sync and the last error.
 *
 * In Patchbay: an upsert by natural key (provider + reference), then sync-run reports. Unlike
 * the seed, the secrets never come back: responses carry `credentials_summary`.
 *
 *   PATCHBAY_API_KEY=pb_... npx tsx examples/pos-provider-connection.ts
 */
import { createPatchbayClient } from '@patchbay/client';
import { required, check, random } from './support.js';

const patchbay = createPatchbayClient({
  baseUrl: process.env.PATCHBAY_BASE_URL ?? 'http://127.0.0.1:3000',
  apiKey: required('PATCHBAY_API_KEY'),
  userAgent: 'pos-example/1.0',
});

const reference = process.env.POS_REFERENCE ?? 'store-42';
const apiKey = process.env.POS_API_KEY ?? `posk_${random()}`;
const apiSecret = process.env.POS_API_SECRET ?? `poss_${random()}`;

// Create it, or update it if this store already has one: 201 or 200, the same call.
const first = await patchbay.providers.upsertByReference('pos-connect', reference, {
  status: 'active',
  credentials: { api_key: apiKey, api_secret: apiSecret },
  settings: { base_url: 'https://pos.example.com/api', webhook_url: 'https://shop.example.com/webhooks/pos', config: '{"store":"42","currency":"EUR"}' },
});
console.log(`${first.created ? 'created' : 'updated'} ${first.connection.id} (${reference}), version ${first.connection.version}`);

// The same call again with a new webhook URL: members left out (credentials included) are kept.
const second = await patchbay.providers.upsertByReference('pos-connect', reference, {
  settings: { base_url: 'https://pos.example.com/api', webhook_url: 'https://shop.example.com/webhooks/pos-v2', config: '{"store":"42","currency":"EUR"}' },
});
check(!second.created && second.connection.id === first.connection.id, 'the second upsert updates the same connection');
console.log(`updated ${second.connection.id}: webhook_url ${second.connection.settings.webhook_url}`);
console.log(`credentials: ${Object.entries(second.connection.credentials_summary).map(([name, s]) => `${name} ${s.last4 === null ? 'set' : `…${s.last4}`}`).join(', ')}`);
check(!JSON.stringify(second.connection).includes(apiSecret), 'the secret is never echoed');

// The seed's lastSyncAt / lastError: the sync worker reports each run (an Idempotency-Key is
// generated for each report, so a retried report is not counted twice).
const connectionId = first.connection.id;
await patchbay.connections.syncRuns.report(connectionId, { outcome: 'succeeded', entity: 'order', direction: 'inbound', finished_at: new Date().toISOString() });
const failed = await patchbay.connections.syncRuns.report(connectionId, { outcome: 'failed', entity: 'product', error: { code: 'pos_timeout', message: 'POS did not answer' } });
const health = await patchbay.connections.get(connectionId);
check(health.last_error?.code === 'pos_timeout' && health.last_sync_at !== null, 'the last sync and the last error are recorded');
console.log(`health: status ${health.status}, last sync ${health.last_sync_at}, last error ${health.last_error?.code}, failures in a row ${failed.consecutive_failures}`);
