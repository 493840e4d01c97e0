/**
 * Seed 002, Payven vPOS: a merchant keeps several bank virtual-POS terminals (bank
 * credentials, terminal and store ids, 3-D Secure URL), each in Test or Production mode
 * with a priority and an active flag, and payments go through the best active one.
 *
 * In Patchbay: one payven-vpos connection per terminal (upserted by reference, so this
 * example can run again), and getDefaultProviderConnection picks the enabled, active one
 * with the highest priority in an environment.
 *
 *   PATCHBAY_API_KEY=pb_... npx tsx examples/payven-vpos-default-connection.ts
 */
import { createPatchbayClient } from '@patchbay/client';
import { required, check, random } from './support.js';

const patchbay = createPatchbayClient({
  baseUrl: process.env.PATCHBAY_BASE_URL ?? 'http://127.0.0.1:3000',
  apiKey: required('PATCHBAY_API_KEY'),
});

const terminal = (terminalId: string, environment: 'test' | 'production', priority: number) =>
  patchbay.providers.upsertByReference('payven-vpos', `garanti-${environment}-${terminalId}`, {
    name: `Garanti BBVA ${terminalId}`,
    environment,
    priority,
    enabled: true,
    credentials: { username: `vpos_${terminalId}`, password: random(), api_key: random(), secret_key: random() },
    settings: {
      terminal_id: terminalId,
      store_id: '700655000200',
      bank_code: '0062',
      api_endpoint_url: 'https://sanalposprovtest.garanti.com.tr/VPServlet',
      three_d_secure_url: 'https://sanalposprovtest.garanti.com.tr/servlet/gt3dengine',
    },
  });

await terminal('30691297', 'test', 1);
const best = await terminal('30691298', 'production', 20);
const backup = await terminal('30691299', 'production', 10);
console.log(`terminals: ${[best, backup].map(({ connection: c }) => `${c.settings.terminal_id} (${c.environment}, priority ${c.priority}, ${c.status})`).join('; ')}`);

const chosen = await patchbay.providers.defaultConnection('payven-vpos', { environment: 'production' });
check(chosen.id === best.connection.id, 'the highest priority wins');
console.log(`production payments go through terminal ${chosen.settings.terminal_id}`);

// Switching the best terminal off (is_active: false) hands the default to the next one.
await patchbay.connections.update(best.connection.id, { enabled: false }, { ifMatch: best.connection });
const next = await patchbay.providers.defaultConnection('payven-vpos', { environment: 'production' });
check(next.id === backup.connection.id, 'the next priority takes over');
console.log(`terminal ${best.connection.settings.terminal_id} disabled: production payments now go through ${next.settings.terminal_id}`);
