/**
 * Seed 003, Codat Sync for Commerce: create a connection by platform key alone, authorize
 * it later, list connections page by page ordered by last change, and unlink one.
 *
 * In Patchbay: a connection created with its provider only starts `pending_auth`; replacing
 * its credentials makes it `active`; lists are cursor-paginated with `sort`.
 *
 *   PATCHBAY_API_KEY=pb_... npx tsx examples/codat-pending-auth-then-credentials.ts
 */
import { createPatchbayClient } from '@patchbay/client';
import { required, check, random } from './support.js';

const patchbay = createPatchbayClient({
  baseUrl: process.env.PATCHBAY_BASE_URL ?? 'http://127.0.0.1:3000',
  apiKey: required('PATCHBAY_API_KEY'),
});

const pending = await patchbay.connections.create({ provider: 'hubspot' });
check(pending.status === 'pending_auth', 'no credentials yet: pending_auth');
console.log(`created ${pending.id}: ${pending.name}, ${pending.status}`);

// The merchant finished the OAuth flow: store its tokens (write-only, encrypted). The type
// argument checks them against HubSpot's credentials_schema at compile time.
const authorized = await patchbay.connections.credentials.replace<'hubspot'>(
  pending.id,
  { access_token: process.env.HUBSPOT_ACCESS_TOKEN ?? random(), client_secret: random() },
  { ifMatch: pending },
);
check(authorized.status === 'active', 'complete credentials: active');
console.log(`authorized ${authorized.id}: ${authorized.status}, credentials ${Object.keys(authorized.credentials_summary).join(', ')}`);

// Codat's { page, pageSize, orderBy: '-modifiedDate' }: a cursor, a limit and a sort.
let pageNumber = 0;
for await (const page of patchbay.connections.list({ sort: '-updated_at', limit: 2 }).pages()) {
  pageNumber += 1;
  console.log(`page ${pageNumber}: ${page.data.map((c) => `${c.provider}/${c.status}`).join(', ')}${page.next_cursor ? ' …' : ''}`);
  if (pageNumber === 3) break; // enough for an example
}
const newest = (await patchbay.connections.listPage({ sort: '-updated_at', limit: 1 })).data[0];
check(newest?.id === authorized.id, 'the connection changed last is listed first');

// Codat's updateConnection { status: 'Unlinked' }.
const unlinked = await patchbay.connections.update(authorized.id, { status: 'disabled', status_message: 'unlinked by the merchant' });
console.log(`unlinked ${unlinked.id}: ${unlinked.status} (${unlinked.status_message})`);
