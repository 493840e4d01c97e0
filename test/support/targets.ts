/** The contract suite's targets: the same tests, unchanged, against the real server and
 * against the mock. A test that only one of them can honour says so with `only`. */
import { inject } from 'vitest';
import { createPatchbayClient, type PatchbayClient } from '@patchbay/client';

export interface Target {
  name: 'server' | 'mock';
  baseUrl: string;
  apiKey: string;
  client: (options?: { apiKey?: string }) => PatchbayClient;
}

export function targets(): Target[] {
  const adminKey = inject('adminKey');
  const make = (name: Target['name'], baseUrl: string): Target => ({
    name,
    baseUrl,
    apiKey: adminKey,
    client: (options = {}) => createPatchbayClient({ baseUrl, ...('apiKey' in options ? (options.apiKey === undefined ? {} : { apiKey: options.apiKey }) : { apiKey: adminKey }) }),
  });
  return [make('server', inject('serverUrl')), make('mock', inject('mockUrl'))];
}
