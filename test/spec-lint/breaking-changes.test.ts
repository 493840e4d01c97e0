/** The breaking-change gate (specs/scripts/check-breaks.mjs, run by `pnpm lint`): the specs as
 * they are against their last release in specs/released/. Each case edits a temporary copy of
 * the specs whose release is the copy itself before the edit (one release-snapshot, shared), so
 * the cases do not depend on what the workspace has released; each must fail naming its break,
 * or pass. The first test is the gate on the workspace itself: that is what CI runs.
 * The command is run as a process where its exit code is the point; the other cases call the
 * function it is a wrapper of (`runGate`, the same output) in this process, so that Redocly is
 * loaded once rather than once per case on a 2-core machine. */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, it, type ExpectStatic } from 'vitest';
import YAML from 'yaml';
import { specsDir, workspaceRoot } from '../support/paths.js';
import { copyWorkspace, runCommand, type CommandResult, type WorkspaceCopy } from '../support/workspace-copy.js';

const checkBreaks = join(specsDir, 'scripts', 'check-breaks.mjs');
// A JavaScript module of the specs package, without types: its one function is typed here.
const { runGate } = (await import(pathToFileURL(join(specsDir, 'scripts', 'breaking-changes.mjs')).href)) as {
  runGate: (root: string) => Promise<{ ok: boolean; output: string }>;
};
const releaseSnapshot = join(specsDir, 'scripts', 'release-snapshot.mjs');
const ALLOWED = 'specs/released/ALLOWED-BREAKS.yaml';
const CONNECTIONS_ROOT = 'specs/connections/openapi.yaml';

/** The gate command, as `pnpm lint` runs it, on the workspace or on a copy. */
function gateCommand(copy?: WorkspaceCopy): Promise<CommandResult> {
  return runCommand(process.execPath, [checkBreaks], { env: copy ? { PATCHBAY_SPECS_ROOT: copy.root } : {}, timeoutMs: 60_000 });
}

/** The gate in this process, its result shaped as the command's. */
async function gate(copy: WorkspaceCopy): Promise<CommandResult> {
  const { ok, output } = await runGate(copy.root);
  return { code: ok ? 0 : 1, output: `${output}\n` };
}

/** A copy released as it was copied (that is the baseline of every case below). */
let released: WorkspaceCopy;

beforeAll(async () => {
  released = await copyWorkspace();
  // A first release: no baseline yet, so the snapshot has nothing to check against.
  await rm(released.path('specs/released'), { recursive: true, force: true });
  const snapshot = await runCommand(process.execPath, [releaseSnapshot], { env: { PATCHBAY_SPECS_ROOT: released.root }, timeoutMs: 60_000 });
  if (snapshot.code !== 0) throw new Error(`release-snapshot failed on a copy of the workspace:\n${snapshot.output}`);
});

afterAll(async () => {
  await released?.remove();
});

/** Runs the gate on a fresh copy of the specs, with the shared release, after `edit`. */
async function gateAfter(edit: (copy: WorkspaceCopy) => Promise<void>, run = gate): Promise<CommandResult> {
  const copy = await copyWorkspace();
  try {
    await cp(released.path('specs/released'), copy.path('specs/released'), { recursive: true });
    await edit(copy);
    return await run(copy);
  } finally {
    await copy.remove();
  }
}

function expectBreak(expect: ExpectStatic, result: CommandResult, id: string): void {
  expect(result.code, result.output).toBe(1);
  expect(result.output).toContain(`  ${id}\n`);
  // The failure says how to allow it, with the id to copy.
  expect(result.output).toContain(`- break: ${JSON.stringify(id)}`);
}

function expectPass(expect: ExpectStatic, result: CommandResult): void {
  expect(result.code, result.output).toBe(0);
  expect(result.output).toContain('no breaking change against the released admin, connections');
}

async function allow(copy: WorkspaceCopy, ...entries: { break: string; reason: string }[]): Promise<void> {
  const lines = entries.flatMap((entry) => [`  - break: ${JSON.stringify(entry.break)}`, `    reason: ${JSON.stringify(entry.reason)}`]);
  await writeFile(copy.path(ALLOWED), `allowed:\n${lines.join('\n')}\n`);
}

const removeEvents = (copy: WorkspaceCopy) => copy.editYaml(CONNECTIONS_ROOT, (root) => delete root.paths['/v1/connections/{connectionId}/events']);
const REMOVED_EVENTS = 'connections GET /v1/connections/{connectionId}/events: removed-operation';

describe('the breaking-change gate on the workspace', () => {
  it('finds no break of the released APIs that ALLOWED-BREAKS.yaml does not allow, and no stale marker', async ({ expect }) => {
    const result = await gateCommand();
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('no breaking change against the released');
  });

  it('keeps a released bundle of every API redocly.yaml declares', async ({ expect }) => {
    const config = YAML.parse(await readFile(join(workspaceRoot, 'redocly.yaml'), 'utf8')) as { apis: Record<string, unknown> };
    const apis = Object.keys(config.apis).map((key) => key.split('@')[0]!);
    expect(apis.length).toBeGreaterThan(0);
    for (const api of apis) {
      const bundle = JSON.parse(await readFile(join(specsDir, 'released', `${api}.json`), 'utf8'));
      expect(bundle.openapi, api).toMatch(/^3\.1\./);
    }
  });
});

describe.concurrent('the breaking-change gate on a copy of the specs', () => {
  it('passes on the specs as they were released: the command exits 0', async ({ expect }) => {
    expectPass(expect, await gateAfter(async () => {}, gateCommand));
  });

  it('fails when an operation is removed: the command exits 1 naming it', async ({ expect }) => {
    expectBreak(expect, await gateAfter(removeEvents, gateCommand), REMOVED_EVENTS);
  });

  it('fails when a response member is removed', async ({ expect }) => {
    const result = await gateAfter((copy) =>
      copy.editYaml('specs/components/schemas/Connection.yaml', (schema) => {
        delete schema.properties.tags;
        schema.required = schema.required.filter((name: string) => name !== 'tags');
      }),
    );
    expectBreak(expect, result, 'connections schema Connection: removed-response-member at /tags');
  });

  it('fails when a request body gets a new required member', async ({ expect }) => {
    const result = await gateAfter((copy) => copy.editYaml('specs/components/schemas/ConnectionCreate.yaml', (schema) => schema.required.push('reference')));
    expectBreak(expect, result, 'connections schema ConnectionCreate: new-required-request-member at /reference');
  });

  it('fails when an operation gets a new required parameter', async ({ expect }) => {
    const result = await gateAfter((copy) =>
      copy.editYaml('specs/connections/paths/v1_connections.yaml', (path) =>
        path.get.parameters.push({ name: 'region', in: 'query', required: true, schema: { type: 'string' } }),
      ),
    );
    expectBreak(expect, result, 'connections GET /v1/connections: new-required-parameter at query parameter region');
  });

  it('fails when a request enum loses a value', async ({ expect }) => {
    const result = await gateAfter((copy) =>
      copy.editYaml('specs/components/schemas/SyncRunReport.yaml', (schema) => (schema.properties.direction.enum = ['inbound'])),
    );
    expectBreak(expect, result, 'connections schema SyncRunReport: narrowed-request-enum at /direction (removed outbound)');
  });

  it('fails when a type changes, once for the component however many operations use it', async ({ expect }) => {
    const result = await gateAfter((copy) =>
      copy.editYaml('specs/components/schemas/Priority.yaml', (schema) => {
        schema.type = 'string';
        schema.example = '10';
        schema.default = '0';
        delete schema.minimum;
        delete schema.maximum;
      }),
    );
    expectBreak(expect, result, 'connections schema Priority: changed-type at / (integer -> string)');
    expect(result.output).toContain('1 breaking change(s)');
  });

  it('passes when optional members are added to a request and a response', async ({ expect }) => {
    const result = await gateAfter(async (copy) => {
      await copy.editYaml('specs/components/schemas/ConnectionCreate.yaml', (schema) => (schema.properties.color = { type: 'string', maxLength: 20 }));
      await copy.editYaml('specs/components/schemas/Connection.yaml', (schema) => (schema.properties.color = { type: 'string' }));
    });
    expectPass(expect, result);
  });

  it('passes when an operation is added', async ({ expect }) => {
    const result = await gateAfter(async (copy) => {
      const pause = { post: { operationId: 'pauseConnection', summary: 'Pause a connection', tags: ['connections'], responses: { '204': { description: 'Paused' } } } };
      await writeFile(copy.path('specs/connections/paths/v1_connections_{connectionId}_pause.yaml'), JSON.stringify(pause));
      await copy.editYaml(CONNECTIONS_ROOT, (root) => (root.paths['/v1/connections/{connectionId}/pause'] = { $ref: 'paths/v1_connections_{connectionId}_pause.yaml' }));
    });
    expectPass(expect, result);
  });

  it('passes when an enum gains a value (a request accepts more; a response may send a value clients must tolerate)', async ({ expect }) => {
    const result = await gateAfter((copy) => copy.editYaml('specs/components/schemas/ConnectionStatus.yaml', (schema) => schema.enum.push('paused')));
    expectPass(expect, result);
  });

  it('passes a break that ALLOWED-BREAKS.yaml allows by its exact id, and says so', async ({ expect }) => {
    const result = await gateAfter(async (copy) => {
      await removeEvents(copy);
      await allow(copy, { break: REMOVED_EVENTS, reason: 'events move to the audit log; agreed in review' });
    });
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('1 allowed break(s)');
  });

  it('fails on a stale marker: an allowed break the specs no longer make', async ({ expect }) => {
    const result = await gateAfter((copy) => allow(copy, { break: REMOVED_EVENTS, reason: 'events move to the audit log; agreed in review' }));
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain('1 stale marker(s)');
    expect(result.output).toContain(`  ${REMOVED_EVENTS}\n`);
  });

  it('fails on a marker without a reason', async ({ expect }) => {
    const result = await gateAfter(async (copy) => {
      await removeEvents(copy);
      await allow(copy, { break: REMOVED_EVENTS, reason: '' });
    });
    expect(result.code, result.output).toBe(1);
    expect(result.output).toContain('`reason` must say why the break is accepted');
  });

  it('release-snapshot refuses while the gate fails, and with the break allowed releases it and empties the markers', async ({ expect }) => {
    const copy = await copyWorkspace();
    try {
      await cp(released.path('specs/released'), copy.path('specs/released'), { recursive: true });
      await removeEvents(copy);
      const snapshot = () => runCommand(process.execPath, [releaseSnapshot], { env: { PATCHBAY_SPECS_ROOT: copy.root }, timeoutMs: 60_000 });

      const refused = await snapshot();
      expect(refused.code, refused.output).toBe(1);
      expect(refused.output).toContain(`  ${REMOVED_EVENTS}\n`);
      expect(refused.output).toContain('Nothing released.');

      await allow(copy, { break: REMOVED_EVENTS, reason: 'events move to the audit log; agreed in review' });
      const releasedNow = await snapshot();
      expect(releasedNow.code, releasedNow.output).toBe(0);
      const bundle = JSON.parse(await readFile(copy.path('specs/released/connections.json'), 'utf8'));
      expect(Object.keys(bundle.paths)).not.toContain('/v1/connections/{connectionId}/events');
      expect(YAML.parse(await readFile(copy.path(ALLOWED), 'utf8'))).toEqual({ allowed: [] });
      expectPass(expect, await gate(copy));
    } finally {
      await copy.remove();
    }
  });
});
