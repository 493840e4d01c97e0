/** The spec author's loop under `pnpm dev`: the specs watcher (specs/scripts/dev.mjs) runs on
 * a temporary copy of the specs, and a real server and a real mock serve the bundles it
 * writes, reloading in place. A saved edit reaches both and the generated types; an edit
 * the lint refuses is printed and changes nothing they serve. How fast is the bench's job
 * (bench/spec-loop.ts); here only what must happen. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { specsDir } from '../support/paths.js';
import { startMock, startServer, type RunningProcess } from '../support/processes.js';
import { copyWorkspace, type WorkspaceCopy } from '../support/workspace-copy.js';

const EDITED = 'specs/connections/paths/v1_connections.yaml';
const SUMMARY = /^( {2}operationId: listConnections\n {2}summary: ).*$/m;
const WAIT = { timeout: 60_000, interval: 100 };

describe('pnpm dev: a saved spec file', () => {
  let copy: WorkspaceCopy;
  let watcher: ChildProcess;
  let output = '';
  const processes: RunningProcess[] = [];
  let server: RunningProcess;
  let mock: RunningProcess;
  let original: string;

  /** Saves the edited file as many editors do: a new file renamed over the old one. */
  const save = (summary: string) => {
    writeFileSync(copy.path(`${EDITED}.new`), original.replace(SUMMARY, `$1${summary}`));
    renameSync(copy.path(`${EDITED}.new`), copy.path(EDITED));
  };
  const served = async (url: string) => {
    const bundle = (await (await fetch(`${url}/openapi/connections.json`)).json()) as { paths: Record<string, { get: { summary: string } }> };
    return bundle.paths['/v1/connections']!.get.summary;
  };

  beforeAll(async () => {
    copy = await copyWorkspace();
    original = readFileSync(copy.path(EDITED), 'utf8');
    // Where the watcher writes the bundles and the types of the copy (an api-types without sources).
    mkdirSync(copy.path('packages/api-types'), { recursive: true });
    watcher = spawn(process.execPath, [join(specsDir, 'scripts', 'dev.mjs')], {
      env: { ...process.env, PATCHBAY_SPECS_ROOT: copy.root, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    watcher.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    watcher.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await vi.waitFor(() => expect(output).toContain('specs: watching'), WAIT);
    const bundles = { PATCHBAY_BUNDLES_DIR: copy.path('packages/api-types/bundles') };
    [server, mock] = await Promise.all([
      startServer({ store: 'pglite' }, { ...bundles, PATCHBAY_RELOAD_SPECS: 'true', PATCHBAY_ADMIN_KEY: inject('adminKey') }),
      startMock(bundles, ['--watch-bundles']),
    ]);
    processes.push(server, mock);
  });

  afterAll(async () => {
    watcher?.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.stop()));
    await copy?.remove();
  });

  it('reaches the server, the mock and the generated types, save after save', async () => {
    expect(await served(server.url)).toBe('List connections');
    for (const summary of ['List the connections', 'List every connection']) {
      save(summary);
      await vi.waitFor(async () => expect(await served(server.url)).toBe(summary), WAIT);
      await vi.waitFor(async () => expect(await served(mock.url)).toBe(summary), WAIT);
      await vi.waitFor(() => expect(readFileSync(copy.path('packages/api-types/src/generated/connections.ts'), 'utf8')).toContain(`* ${summary}\n`), WAIT);
    }
  });

  it('is refused when the lint fails: the problem is printed, the server and the mock keep the last good specs', async () => {
    const before = output.length;
    save('""');
    await vi.waitFor(() => expect(output.slice(before)).toMatch(/✖ specs: specs\/connections\/paths\/v1_connections\.yaml: the lint found 2 error\(s\)/), WAIT);
    expect(output.slice(before)).toContain('every operation needs a summary');
    expect(output.slice(before)).toContain('v1_connections.yaml:3');
    expect(await served(server.url)).toBe('List every connection');
    expect(await served(mock.url)).toBe('List every connection');

    save('List connections again');
    await vi.waitFor(async () => expect(await served(server.url)).toBe('List connections again'), WAIT);
    await vi.waitFor(async () => expect(await served(mock.url)).toBe('List connections again'), WAIT);
  });
});
