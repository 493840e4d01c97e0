/** Starts one real server and one real mock for the whole run and hands their URLs to the
 * suites. Suites that need a server of their own (another configuration) start it themselves. */
import type { TestProject } from 'vitest/node';
import { startMock, startServer, type RunningProcess } from './processes.js';

export const BOOTSTRAP_ADMIN_KEY = 'pb_test_bootstrap_admin_key_0123456789';

declare module 'vitest' {
  export interface ProvidedContext {
    serverUrl: string;
    mockUrl: string;
    adminKey: string;
  }
}

let running: RunningProcess[] = [];

export async function setup(project: TestProject): Promise<void> {
  running = await Promise.all([startServer({ PATCHBAY_ADMIN_KEY: BOOTSTRAP_ADMIN_KEY }), startMock()]);
  const [server, mock] = running;
  project.provide('serverUrl', server!.url);
  project.provide('mockUrl', mock!.url);
  project.provide('adminKey', BOOTSTRAP_ADMIN_KEY);
}

export async function teardown(): Promise<void> {
  await Promise.all(running.map((p) => p.stop()));
}
