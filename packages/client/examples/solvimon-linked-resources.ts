/**
 * Seed 004, Solvimon: an integration (here, the e-mail provider that sends invoices) has a
 * reference, a name, a description, a status and linked platform resources, each with its
 * own status; a platform acts for a tenant with its x-platform-id header.
 *
 * In Patchbay: linked_resources on a connection (filterable with linked_object_type/_id),
 * and an admin key acting inside one tenant with X-Tenant-Id (`tenantId` on the client).
 *
 *   PATCHBAY_API_KEY=pb_... [PATCHBAY_ADMIN_KEY=... PATCHBAY_TENANT_ID=ten_...] npx tsx examples/solvimon-linked-resources.ts
 */
import { createPatchbayClient } from '@patchbay/client';
import { required, check, random } from './support.js';

const baseUrl = process.env.PATCHBAY_BASE_URL ?? 'http://127.0.0.1:3000';
const patchbay = createPatchbayClient({ baseUrl, apiKey: required('PATCHBAY_API_KEY') });

const customerId = `cust_${random().slice(0, 12)}`;
const email = await patchbay.connections.create({
  provider: 'sendgrid',
  reference: `invoice-email-${customerId}`,
  name: 'Invoice e-mails',
  description: 'Sends invoices to customers',
  credentials: { api_key: process.env.SENDGRID_API_KEY ?? `SG.${random()}.${random()}` },
  settings: { from_email: 'billing@acme.example' },
  linked_resources: [
    { object_type: 'customer', object_id: customerId, status: 'active' },
    { object_type: 'pricing_plan', object_id: 'plan_basic', status: 'error', status_message: 'currency not supported' },
  ],
});
console.log(`created ${email.id}: linked to ${email.linked_resources.map((r) => `${r.object_type} ${r.object_id} (${r.status})`).join(', ')}`);

// Which integrations serve this customer?
const forCustomer = await patchbay.connections.list({ linked_object_type: 'customer', linked_object_id: customerId }).toArray();
check(forCustomer.length === 1 && forCustomer[0]!.id === email.id, 'found by linked object');
console.log(`customer ${customerId} is served by ${forCustomer.map((c) => c.name).join(', ')}`);

// The platform (an admin key) updates the tenant's integration, as Solvimon's x-platform-id.
const adminKey = process.env.PATCHBAY_ADMIN_KEY;
const tenantId = process.env.PATCHBAY_TENANT_ID;
if (adminKey && tenantId) {
  const platform = createPatchbayClient({ baseUrl, apiKey: adminKey, tenantId });
  const updated = await platform.connections.modify(email.id, () => ({
    status: 'disabled',
    status_message: 'waiting for DKIM',
    linked_resources: [{ object_type: 'customer', object_id: customerId, status: 'pending' }],
  }));
  check(updated.updated_by.type !== 'api_key' || updated.updated_by.id !== email.created_by.id, 'the platform made the change');
  console.log(`platform updated ${updated.id} in ${tenantId}: ${updated.status} (${updated.status_message}), links ${updated.linked_resources.map((r) => `${r.object_id} ${r.status}`).join(', ')}`);
} else {
  console.log('set PATCHBAY_ADMIN_KEY and PATCHBAY_TENANT_ID to see a platform act inside the tenant');
}
