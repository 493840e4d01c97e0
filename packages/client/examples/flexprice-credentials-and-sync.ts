/**
 * Seed 001, Flexprice: a billing platform's connection to Stripe holds encrypted secret data
 * and, per entity, which way it syncs; `PUT /v1/connections/{id}` updates name, metadata,
 * secrets and sync directions.
 *
 * In Patchbay: create with credentials and sync_config (an Idempotency-Key is sent for you),
 * then a merge patch sent with If-Match of the version read, so a concurrent change is a 412
 * instead of a lost update.
 *
 *   PATCHBAY_API_KEY=pb_... npx tsx examples/flexprice-credentials-and-sync.ts
 */
import { createPatchbayClient, PatchbayPreconditionFailedError } from '@patchbay/client';
import { required, check, random } from './support.js';

const patchbay = createPatchbayClient({
  baseUrl: process.env.PATCHBAY_BASE_URL ?? 'http://127.0.0.1:3000',
  apiKey: required('PATCHBAY_API_KEY'),
});

const secretKey = process.env.STRIPE_SECRET_KEY ?? `sk_test_${random()}`;
const created = await patchbay.connections.create({
  provider: 'stripe',
  name: 'Flexprice Stripe',
  environment: 'test',
  credentials: { secret_key: secretKey },
  settings: { account_id: 'acct_1NbW3cQ2eZvKYlo2' },
  sync_config: { invoice: { inbound: true, outbound: true }, payment: { inbound: true, outbound: false } },
  metadata: { flexprice_environment: 'env_01' },
});
console.log(`created ${created.id}: ${created.status}, syncs ${Object.keys(created.sync_config).join(', ')}`);

// Read, change, write with If-Match: modify() does the three, and a 412 is a typed error.
const updated = await patchbay.connections.modify(created.id, (current) => ({
  name: 'Flexprice Stripe (EU)',
  metadata: { ...current.metadata, owner: 'billing' },
  credentials: { webhook_secret: process.env.STRIPE_WEBHOOK_SECRET ?? `whsec_${random()}` },
  sync_config: { subscription: { inbound: true, outbound: true } },
}));
check(updated.version === created.version + 1, 'one write, one version');
check(Object.keys(updated.credentials_summary).sort().join() === 'secret_key,webhook_secret', 'credentials not sent are kept');
console.log(`updated to version ${updated.version}: credentials ${Object.keys(updated.credentials_summary).join(', ')}; syncs ${Object.keys(updated.sync_config).join(', ')}`);

// A write based on a stale read is refused, and nothing is written.
try {
  await patchbay.connections.update(created.id, { name: 'from a stale read' }, { ifMatch: created });
  check(false, 'a stale If-Match must fail');
} catch (error) {
  if (!(error instanceof PatchbayPreconditionFailedError)) throw error;
  console.log(`stale write refused: ${error.status} ${error.code}, the connection is at version ${error.currentVersion}`);
}
