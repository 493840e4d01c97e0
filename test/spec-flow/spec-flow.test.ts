/** The central promise: an edit to the YAML reaches the bundle, the types, the server's
 * validation and the mock with no hand step. On a temporary copy of the specs, `Health`
 * gains a required `version`; the workspace's own build and generator then run on the copy,
 * and the real server and mock are started on what they produced. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { loadDocument } from '@patchbay/api-types/documents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startMock, startServer, type RunningProcess } from '../support/processes.js';
import { buildSpecs, copyWorkspace, generateTypes, type CommandResult, type WorkspaceCopy } from '../support/workspace-copy.js';

const VERSION = '1.4.0';

/** Type-checks a tiny module placed next to the generated types; returns the compiler's messages. */
async function typeCheck(generatedDir: string, name: string, source: string): Promise<string[]> {
  const file = join(generatedDir, `${name}.ts`);
  await writeFile(file, source);
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
  });
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

const healthWithoutVersion = `import type { components } from './connections.js';
export const health: components['schemas']['Health'] = { status: 'ok' };
`;
const healthWithVersion = `import type { components } from './connections.js';
export const health: components['schemas']['Health'] = { status: 'ok', version: '${VERSION}' };
`;

function expectSuccess(step: string, result: CommandResult): void {
  if (result.code !== 0) throw new Error(`${step} exited with ${result.code}:\n${result.output}`);
}

describe('a required property added to a schema in the YAML', () => {
  let copy: WorkspaceCopy;
  const before = () => copy.path('out-before');
  const after = () => copy.path('out-after');
  const processes: RunningProcess[] = [];

  beforeAll(async () => {
    copy = await copyWorkspace();
    // The same flow on the unmodified copy, so that every check below has a control.
    expectSuccess('the specs build (unmodified)', await buildSpecs(copy));
    expectSuccess('the types generator (unmodified)', await generateTypes(copy, before()));

    await copy.editYaml('specs/components/schemas/Health.yaml', (schema) => {
      schema.required.push('version');
      schema.properties.version = { type: 'string', description: 'The running release.', example: VERSION };
    });
    // Health is the body of both probes: their examples must stay valid for the lint to pass.
    for (const probe of ['healthz', 'readyz']) {
      await copy.editYaml(`specs/connections/paths/${probe}.yaml`, (path) => {
        path.get.responses['200'].content['application/json'].example.version = VERSION;
      });
    }

    const started = performance.now();
    expectSuccess('the specs build', await buildSpecs(copy));
    expectSuccess('the types generator', await generateTypes(copy, after()));
    console.log(`spec flow: build + generate of the edited specs took ${Math.round(performance.now() - started)} ms`);
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await copy?.remove();
  });

  it('is required by the Health schema of the bundle', async () => {
    const workspaceHealth = loadDocument('connections').components?.schemas?.Health as { required: string[] };
    expect(workspaceHealth.required).not.toContain('version');

    const bundle = JSON.parse(await readFile(join(after(), 'bundles', 'connections.json'), 'utf8')) as {
      components: { schemas: { Health: { required: string[]; properties: Record<string, unknown> } } };
    };
    expect(bundle.components.schemas.Health.required).toContain('version');
    expect(bundle.components.schemas.Health.properties.version).toMatchObject({ type: 'string' });
  });

  it('makes a Health without it a type error in the generated types', async () => {
    const generatedBefore = join(before(), 'src', 'generated');
    const generatedAfter = join(after(), 'src', 'generated');
    expect(await typeCheck(generatedBefore, 'health-check', healthWithoutVersion)).toEqual([]);

    const errors = await typeCheck(generatedAfter, 'health-check', healthWithoutVersion);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Property 'version' is missing/);
    expect(await typeCheck(generatedAfter, 'health-check-with-version', healthWithVersion)).toEqual([]);
  });

  it('makes the server answer a 500 problem when its handler does not send it', async () => {
    const unmodified = await fetch(`${inject('serverUrl')}/healthz`);
    expect(unmodified.status).toBe(200);

    const server = await startServer({ store: 'pglite' }, { PATCHBAY_BUNDLES_DIR: join(after(), 'bundles'), PATCHBAY_ADMIN_KEY: inject('adminKey') });
    processes.push(server);
    const response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { code: string; request_id: string };
    expect(problem).toMatchObject({ status: 500, code: 'internal_error' });
    expect(problem.request_id).toBe(response.headers.get('x-request-id'));
    // Its log names the member the handler left out, under the same request id (waited for as
    // the line arrives, not polled).
    const [line] = await server.run.waitForOutput(new RegExp(`^.*${problem.request_id}.*unexpected error.*$|^.*unexpected error.*${problem.request_id}.*$`, 'm'), 30_000);
    expect(line).toContain('/response/version');
    // The rest of the API is unaffected: the 500 comes from the new rule, not a broken start.
    const providers = await fetch(`${server.url}/v1/providers`, { headers: { 'X-Api-Key': inject('adminKey') } });
    expect(providers.status).toBe(200);
  });

  it('makes the mock answer with it, from the new example', async () => {
    const mock = await startMock({ PATCHBAY_BUNDLES_DIR: join(after(), 'bundles') });
    processes.push(mock);
    const response = await fetch(`${mock.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', version: VERSION });
  });
});
