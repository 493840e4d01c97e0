/** The browser bundle: `pnpm --filter @patchbay/client size` bundles dist/index.js for the
 * browser (esbuild, platform=browser, where any Node built-in fails the build), and the
 * bundle it prints the size of is a working client. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type * as ClientModule from '@patchbay/client';
import { workspaceRoot } from '../support/paths.js';
import { newTenantKey, serverTargets } from '../support/targets.js';

const clientDir = join(workspaceRoot, 'packages', 'client');
const dir = mkdtempSync(join(tmpdir(), 'patchbay-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the client\'s browser bundle', () => {
  const outfile = join(dir, 'patchbay-client.mjs');
  const report = () => JSON.parse(execFileSync(process.execPath, ['scripts/size.mjs', '--json', '--outfile', outfile], { cwd: clientDir, encoding: 'utf8' })) as { raw: number; gzip: number; inputs: string[] };

  it('when built for the browser, then it holds only the client and openapi-fetch, and no Node built-in', () => {
    const { raw, gzip, inputs } = report();

    const packages = new Set(inputs.map((input) => (input.startsWith('dist/') ? '@patchbay/client' : /node_modules\/((?:@[^/]+\/)?[^/]+)\/dist\//.exec(input)?.[1] ?? input)));
    expect([...packages].sort()).toEqual(['@patchbay/client', 'openapi-fetch']);
    const code = readFileSync(outfile, 'utf8');
    expect(code).not.toMatch(/\bfrom\s*["']node:|\brequire\(/);
    expect(gzip).toBeGreaterThan(0);
    expect(gzip).toBeLessThan(raw);
  });

  it('when the bundle is loaded, then it is a working client of the real server', async () => {
    const [target] = serverTargets();
    report();
    const bundled = (await import(pathToFileURL(outfile).href)) as typeof ClientModule;
    const { apiKey } = await newTenantKey(target!);
    const client = bundled.createPatchbayClient({ baseUrl: target!.baseUrl, apiKey });

    const stripe = await client.providers.get('stripe');
    const missing = await client.connections.get('conn_01jd5qaz8x3k7m2n4p6r8t0vwy').catch((error: unknown) => error);

    expect(stripe.slug).toBe('stripe');
    expect(bundled.isPatchbayError(missing, 'not_found')).toBe(true);
  });
});
