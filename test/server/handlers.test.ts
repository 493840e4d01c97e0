/** The spec/handler check of createApp (apps/server/src/http/dispatch.ts): the handler map
 * and the operations of the bundles must match exactly, or the app refuses to build, naming
 * the difference. The types catch the same at compile time; this is the run-time net for
 * a bundle that changed after the build. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, createLogger, createRuntime, handlers, loadConfig, type Handlers, type Runtime } from '@patchbay/server';

const dataDir = mkdtempSync(join(tmpdir(), 'patchbay-handlers-'));
const config = loadConfig({
  PATCHBAY_ADMIN_KEY: 'pb_test_handlers_admin_key_0123456789',
  PATCHBAY_MASTER_KEY: Buffer.alloc(32, 3).toString('base64'),
  PATCHBAY_DATA_DIR: dataDir,
  PORT: '0',
});
const logger = createLogger('silent');

describe('createApp', () => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await createRuntime(config, logger);
  });
  afterAll(async () => {
    await runtime?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const build = (map: unknown) => createApp({ config, logger, services: runtime.services, handlers: map as Handlers });

  it('builds the app when every operation has exactly one handler', () => {
    expect(() => build(handlers)).not.toThrow();
  });

  it('throws naming getProvider, and only it, when its handler is missing', () => {
    const { getProvider: _removed, ...rest } = handlers;
    expect(() => build(rest)).toThrow(/'getProvider'.*no handler/);
    const message = (() => {
      try {
        build(rest);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect([...message.matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1])).toEqual(['getProvider']);
  });

  it('throws naming frobnicate when a handler has no operation in the spec', () => {
    expect(() => build({ ...handlers, frobnicate: () => ({ status: 200, body: {} }) })).toThrow(/'frobnicate'.*no operation/);
  });
});
