/** The client README's examples, one per seed, run as a reader would run them (a script, its
 * base URL and key from the environment) against the real server, so that they cannot rot.
 * Each example checks its own claims and exits non-zero when one fails. */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workspaceRoot } from '../support/paths.js';
import { newTenantKey, serverTargets } from '../support/targets.js';

const run = promisify(execFile);
const examplesDir = join(workspaceRoot, 'packages', 'client', 'examples');
const testDir = join(workspaceRoot, 'test');
const [target] = serverTargets();

/** Each example and a line its output must contain (what it is about). */
const EXAMPLES: Record<string, RegExp> = {
  'pos-provider-connection.ts': /^created conn_\S+ \(store-42\), version 1$/m,
  'flexprice-credentials-and-sync.ts': /^stale write refused: 412 version_mismatch, the connection is at version 2$/m,
  'payven-vpos-default-connection.ts': /^terminal 30691298 disabled: production payments now go through 30691299$/m,
  'codat-pending-auth-then-credentials.ts': /^authorized conn_\S+: active, credentials access_token, client_secret$/m,
  'solvimon-linked-resources.ts': /^platform updated conn_\S+ in ten_\S+: disabled \(waiting for DKIM\), links cust_\S+ pending$/m,
};

describe(`the client's examples against the ${target!.name}`, () => {
  it('every example in packages/client/examples is run here', () => {
    const files = readdirSync(examplesDir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'support.ts');
    expect(files.sort()).toEqual(Object.keys(EXAMPLES).sort());
  });

  it.each(Object.entries(EXAMPLES))('when %s runs against a fresh tenant, then it succeeds and says what it did', async (file, expected) => {
    const { apiKey, tenantId } = await newTenantKey(target!);
    const env = { ...process.env, PATCHBAY_BASE_URL: target!.baseUrl, PATCHBAY_API_KEY: apiKey, PATCHBAY_ADMIN_KEY: target!.adminKey, PATCHBAY_TENANT_ID: tenantId };
    // tsx comes from the test package (cwd); the example imports @patchbay/client by name.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', join(examplesDir, file)], { cwd: testDir, env, timeout: 60_000 });
    expect(stdout).toMatch(expected);
  });
});
