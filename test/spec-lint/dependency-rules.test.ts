/** The dependency rules of .dependency-cruiser.cjs (docs/decisions/0013-dependency-rules.md),
 * which `pnpm lint` runs: the workspace as it is must pass them, and each rule is broken once
 * by one import added to a temporary tree, which must fail naming that rule and that import.
 * The broken trees are small copies of the layout (apps/server/src with platform/, http/ and
 * two feature modules, the mock, the three packages: files of the workspace, with only the
 * imports that matter) with the workspace's own rule file and tsconfigs, so a rule is proven
 * on a tree that passes until the one import is added, whatever the real tree's state. */
import { cp, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it, type ExpectStatic } from 'vitest';
import { workspaceRoot } from '../support/paths.js';
import { runCommand, type CommandResult } from '../support/workspace-copy.js';

const depcruise = join(workspaceRoot, 'test', 'node_modules', '.bin', 'depcruise');
const CONFIG_FILES = ['.dependency-cruiser.cjs', 'tsconfig.boundaries.json', 'tsconfig.base.json'];

/** A tree that follows the layout and breaks no rule. Imports are written as the sources write
 * them: `.js`-suffixed relative paths to `.ts` files, and workspace packages by name. */
const CLEAN_TREE: Record<string, string> = {
  'apps/server/src/main.ts': `import { createApp } from './app.js';\nimport { createRuntime } from './runtime.js';\nexport const app = createApp(createRuntime());\n`,
  'apps/server/src/app.ts': `import express from 'express';\nimport { dispatch } from './http/dispatch.js';\nimport { handlers } from './handlers.js';\nexport const createApp = (runtime: unknown) => dispatch(express(), handlers, runtime);\n`,
  'apps/server/src/runtime.ts': `import { keyring } from './platform/crypto/keyring.js';\nimport { config } from './platform/config.js';\nexport const createRuntime = () => ({ keyring, config });\n`,
  'apps/server/src/handlers.ts': `import { getConnection } from './modules/connections/handlers/get-connection.js';\nimport { createTenant } from './modules/tenants/handlers/create-tenant.js';\nexport const handlers = { getConnection, createTenant };\n`,
  'apps/server/src/index.ts': `export { createApp } from './app.js';\n`,
  'apps/server/src/platform/config.ts': `export const config = { port: 0 };\n`,
  'apps/server/src/platform/ids.ts': `export const newId = (prefix: string) => prefix;\n`,
  'apps/server/src/platform/errors.ts': `export class DomainError extends Error {}\n`,
  'apps/server/src/platform/crypto/envelope.ts': `export interface Sealed { ciphertext: string }\nexport const seal = (text: string): Sealed => ({ ciphertext: text });\n`,
  'apps/server/src/platform/crypto/keyring.ts': `import { seal } from './envelope.js';\nexport const keyring = { seal };\n`,
  'apps/server/src/http/dispatch.ts': `import type { Express } from 'express';\nimport { problemFor } from './problems.js';\nexport const dispatch = (app: Express, handlers: unknown, runtime: unknown) => ({ app, handlers, runtime, problemFor });\n`,
  'apps/server/src/http/problems.ts': `import { HttpProblem } from '@patchbay/openapi-http';\nimport { ConnectionNotFound } from '../modules/connections/errors.js';\nexport const problemFor = (error: ConnectionNotFound) => new HttpProblem(error.message);\n`,
  'apps/server/src/modules/connections/errors.ts': `import { DomainError } from '../../platform/errors.js';\nexport class ConnectionNotFound extends DomainError {}\n`,
  'apps/server/src/modules/connections/status.ts': `export const isActive = (status: string) => status === 'active';\n`,
  'apps/server/src/modules/connections/service.ts': `import { ConnectionRepository } from './repository.js';\nimport { isActive } from './status.js';\nimport { newId } from '../../platform/ids.js';\nexport const connectionService = { repository: new ConnectionRepository(), isActive, newId };\n`,
  'apps/server/src/modules/connections/repository.ts': `import { seal } from '../../platform/crypto/envelope.js';\nexport class ConnectionRepository { seal = seal; }\n`,
  'apps/server/src/modules/connections/handlers/get-connection.ts': `import type { Request } from 'express';\nimport { connectionService } from '../service.js';\nimport { problemFor } from '../../../http/problems.js';\nexport const getConnection = (request: Request) => ({ request, connectionService, problemFor });\n`,
  'apps/server/src/modules/tenants/service.ts': `import { TenantRepository } from './repository.js';\nexport const tenantService = { repository: new TenantRepository() };\n`,
  'apps/server/src/modules/tenants/repository.ts': `export class TenantRepository {}\n`,
  'apps/server/src/modules/tenants/handlers/create-tenant.ts': `import { tenantService } from '../service.js';\nexport const createTenant = () => tenantService;\n`,
  'apps/mock/src/main.mjs': `import express from 'express';\nimport { HttpProblem } from '@patchbay/openapi-http';\nimport { operations } from '@patchbay/api-types/operations';\nexport const mock = { express, HttpProblem, operations };\n`,
  'packages/api-types/src/index.ts': `export type { Operation } from './operations.js';\n`,
  'packages/api-types/src/operations.ts': `export interface Operation { operationId: string }\nexport const operations: Operation[] = [];\n`,
  'packages/openapi-http/src/index.ts': `import type { Operation } from '@patchbay/api-types';\nexport class HttpProblem extends Error { operation?: Operation }\n`,
  'packages/client/src/index.ts': `export { createPatchbayClient } from './client.js';\n`,
  'packages/client/src/client.ts': `import type { Operation } from '@patchbay/api-types';\nexport const createPatchbayClient = (operation?: Operation) => ({ operation });\n`,
};

// Node packages (express and its types) resolve through the workspace's own installs, as pnpm
// lays them out, so the rules meet the paths they meet on the real tree.
const LINKED_NODE_MODULES = ['apps/server', 'apps/mock'];

interface Violation {
  rule: string;
  /** The importing file, as the check names it (relative to the root). */
  from: string;
  to: string;
  /** For a circle, every module of it in import order, back to `from`; otherwise [from, to]. */
  chain: string[];
}

interface CheckResult extends CommandResult {
  violations: Violation[];
}

/** Runs the check as `pnpm lint` does (the err reporter) and reads the violations it names:
 * `error RULE: FROM → TO`, a circle continuing with one `→ MODULE` per line. */
async function check(root: string): Promise<CheckResult> {
  const result = await runCommand(depcruise, ['--config', join(root, '.dependency-cruiser.cjs'), 'apps', 'packages'], { cwd: root, timeoutMs: 60_000 });
  const violations = [...result.output.matchAll(/^\s*error (\S+): (\S+(?:\s+→\s+\S+)+)/gm)].map(([, rule, path]) => {
    const chain = path!.split(/\s+→\s+/);
    return { rule: rule!, from: chain[0]!, to: chain[1]!, chain };
  });
  return { ...result, violations };
}

// Each check is a node process of its own that parses TypeScript: two at a time on a 2-core machine.
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(work: () => Promise<T>): Promise<T> {
  if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Writes the clean tree with `edits` applied (a line appended to a file, or a new file), checks it, removes it. */
async function checkTreeWith(edits: Record<string, string> = {}): Promise<CheckResult> {
  const root = await mkdtemp(join(tmpdir(), 'patchbay-boundaries-'));
  try {
    for (const file of CONFIG_FILES) await cp(join(workspaceRoot, file), join(root, file));
    for (const dir of LINKED_NODE_MODULES) {
      await mkdir(join(root, dir), { recursive: true });
      await symlink(join(workspaceRoot, dir, 'node_modules'), join(root, dir, 'node_modules'));
    }
    const files = { ...CLEAN_TREE };
    for (const [file, line] of Object.entries(edits)) files[file] = (files[file] ?? '') + line + '\n';
    for (const [file, text] of Object.entries(files)) {
      await mkdir(dirname(join(root, file)), { recursive: true });
      await writeFile(join(root, file), text);
    }
    return await limited(() => check(root));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** The check fails, naming `rule` and the import `from` → `to`, and nothing else is wrong. */
function expectOnlyViolation(expect: ExpectStatic, result: CheckResult, rule: string, from: string, to: string | RegExp): void {
  expect(result.code, result.output).not.toBe(0);
  const named = result.violations.filter((v) => v.rule === rule && v.from === from && (typeof to === 'string' ? v.to === to : to.test(v.to)));
  expect(named, result.output).toHaveLength(1);
  expect(result.violations, result.output).toHaveLength(1);
}

/** The check fails on a circle that runs through the import `from` → `to`. */
function expectCircleThrough(expect: ExpectStatic, result: CheckResult, from: string, to: string): void {
  expect(result.code, result.output).not.toBe(0);
  const circles = result.violations.filter((v) => v.rule === 'no-circular');
  expect(circles, result.output).toHaveLength(1);
  const chain = circles[0]!.chain;
  expect(chain.at(-1), result.output).toBe(chain[0]);
  expect(chain.some((module, i) => module === from && chain[i + 1] === to), result.output).toBe(true);
}

/** The result without its circles, for an import that breaks a rule and also closes a circle. */
function withoutCircles(result: CheckResult): CheckResult {
  return { ...result, violations: result.violations.filter((v) => v.rule !== 'no-circular') };
}

function expectPass(expect: ExpectStatic, result: CheckResult): void {
  expect(result.violations, result.output).toEqual([]);
  expect(result.code, result.output).toBe(0);
}

const S = 'apps/server/src';
const CONNECTIONS = `${S}/modules/connections`;
const TENANTS = `${S}/modules/tenants`;
const EXPRESS = /node_modules\/express\/index\.js$/;

describe.concurrent('dependency rules (pnpm lint)', () => {
  it('pass on the workspace as it is, with every import resolved to a source file', async ({ expect }) => {
    const result = await limited(() =>
      runCommand(depcruise, ['--config', '.dependency-cruiser.cjs', '--output-type', 'json', 'apps', 'packages'], { cwd: workspaceRoot, timeoutMs: 60_000 }),
    );
    const cruise = JSON.parse(result.output.slice(result.output.indexOf('{'))) as {
      summary: { violations: { rule: { name: string }; from: string; to: string }[] };
      modules: { source: string; dependencies: { module: string; resolved: string; couldNotResolve: boolean }[] }[];
    };
    const violations = cruise.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`);
    expect(violations).toEqual([]);
    expect(result.code).toBe(0);
    // The rules see the real graph only if `.js` imports reach the `.ts` sources and workspace
    // packages their src/, never a build (which the check excludes, and which may not exist).
    const workspaceImports = cruise.modules.flatMap((m) => m.dependencies.filter((d) => d.module.startsWith('@patchbay/')).map((d) => `${m.source} → ${d.resolved}`));
    expect(workspaceImports.length).toBeGreaterThan(10);
    for (const edge of workspaceImports) expect(edge).toMatch(/ → (apps|packages)\/[^/]+\/src\//);
    const unresolvedRelative = cruise.modules.flatMap((m) => m.dependencies.filter((d) => d.module.startsWith('.') && d.couldNotResolve && !d.module.includes('/generated/')).map((d) => `${m.source} → ${d.module}`));
    expect(unresolvedRelative).toEqual([]);
  });

  it('pass on the small tree the rules are broken on', async ({ expect }) => {
    expectPass(expect, await checkTreeWith());
  });

  // A rule proven on a tree that no longer looks like the workspace proves nothing: if a
  // folder moves, this fails until the small tree and the rules that name it move too.
  it('are broken on a small tree whose every file is a file of the workspace', async ({ expect }) => {
    const missing = [];
    for (const file of Object.keys(CLEAN_TREE)) {
      if (!(await stat(join(workspaceRoot, file)).catch(() => undefined))?.isFile()) missing.push(file);
    }
    expect(missing).toEqual([]);
  });

  describe('module-core-knows-no-http: a service and its rule files know no HTTP', () => {
    it('fails when a service imports express', async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/service.ts`]: `import express from 'express';` });
      expectOnlyViolation(expect, result, 'module-core-knows-no-http', `${CONNECTIONS}/service.ts`, EXPRESS);
    });

    it("fails when a rule file imports express's types", async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/status.ts`]: `import type { Request } from 'express';` });
      expectOnlyViolation(expect, result, 'module-core-knows-no-http', `${CONNECTIONS}/status.ts`, EXPRESS);
    });

    it('fails when a rule file imports @patchbay/openapi-http', async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/errors.ts`]: `import { HttpProblem } from '@patchbay/openapi-http';` });
      expectOnlyViolation(expect, result, 'module-core-knows-no-http', `${CONNECTIONS}/errors.ts`, 'packages/openapi-http/src/index.ts');
    });

    it('fails when a service imports http/', async ({ expect }) => {
      const result = await checkTreeWith({ [`${TENANTS}/service.ts`]: `import { problemFor } from '../../http/problems.js';` });
      expectOnlyViolation(expect, result, 'module-core-knows-no-http', `${TENANTS}/service.ts`, `${S}/http/problems.ts`);
    });

    it("fails when a service imports another feature's repository (reported as repository-only-from-own-service)", async ({ expect }) => {
      const result = await checkTreeWith({ [`${TENANTS}/service.ts`]: `import { ConnectionRepository } from '../connections/repository.js';` });
      expectOnlyViolation(expect, result, 'repository-only-from-own-service', `${TENANTS}/service.ts`, `${CONNECTIONS}/repository.ts`);
    });

    it('passes when a handler imports express and http/', async ({ expect }) => {
      expectPass(expect, await checkTreeWith({ [`${TENANTS}/handlers/create-tenant.ts`]: `import express from 'express';\nimport { problemFor } from '../../../http/problems.js';` }));
    });
  });

  describe("repository-only-from-own-service: a repository is its own feature's service's", () => {
    it('fails when a handler imports its own repository', async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/handlers/get-connection.ts`]: `import { ConnectionRepository } from '../repository.js';` });
      expectOnlyViolation(expect, result, 'repository-only-from-own-service', `${CONNECTIONS}/handlers/get-connection.ts`, `${CONNECTIONS}/repository.ts`);
    });

    it("fails when a feature's rule file imports its repository", async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/status.ts`]: `import { ConnectionRepository } from './repository.js';` });
      expectOnlyViolation(expect, result, 'repository-only-from-own-service', `${CONNECTIONS}/status.ts`, `${CONNECTIONS}/repository.ts`);
    });

    it('fails when the wiring outside modules/ imports a repository', async ({ expect }) => {
      const result = await checkTreeWith({ [`${S}/runtime.ts`]: `import { TenantRepository } from './modules/tenants/repository.js';` });
      expectOnlyViolation(expect, result, 'repository-only-from-own-service', `${S}/runtime.ts`, `${TENANTS}/repository.ts`);
    });
  });

  describe('crypto-only-from-repositories-and-runtime: credentials are sealed at the store boundary', () => {
    it('fails when a service imports platform/crypto', async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/service.ts`]: `import { seal } from '../../platform/crypto/envelope.js';` });
      expectOnlyViolation(expect, result, 'crypto-only-from-repositories-and-runtime', `${CONNECTIONS}/service.ts`, `${S}/platform/crypto/envelope.ts`);
    });

    it('fails when http/ imports platform/crypto for a value next to a type', async ({ expect }) => {
      const result = await checkTreeWith({ [`${S}/http/dispatch.ts`]: `import { seal, type Sealed } from '../platform/crypto/envelope.js';` });
      expectOnlyViolation(expect, result, 'crypto-only-from-repositories-and-runtime', `${S}/http/dispatch.ts`, `${S}/platform/crypto/envelope.ts`);
    });

    it('fails when a service imports only a type but with `import { type X }`, which verbatimModuleSyntax keeps as a runtime import', async ({ expect }) => {
      const result = await checkTreeWith({ [`${TENANTS}/service.ts`]: `import { type Sealed } from '../../platform/crypto/envelope.js';` });
      expectOnlyViolation(expect, result, 'crypto-only-from-repositories-and-runtime', `${TENANTS}/service.ts`, `${S}/platform/crypto/envelope.ts`);
    });

    it('passes when a handler and a service import only types from platform/crypto', async ({ expect }) => {
      expectPass(
        expect,
        await checkTreeWith({
          [`${CONNECTIONS}/handlers/get-connection.ts`]: `import type { Sealed } from '../../../platform/crypto/envelope.js';`,
          [`${CONNECTIONS}/service.ts`]: `import type { Sealed } from '../../platform/crypto/envelope.js';`,
        }),
      );
    });
  });

  describe('packages and apps stay in their lanes', () => {
    it('client-not-to-apps: fails when the client imports @patchbay/server', async ({ expect }) => {
      const result = await checkTreeWith({ 'packages/client/src/client.ts': `import { createApp } from '@patchbay/server';` });
      expectOnlyViolation(expect, result, 'client-not-to-apps', 'packages/client/src/client.ts', `${S}/index.ts`);
    });

    it('client-not-to-apps: fails when the client imports a file of apps/ by a relative path', async ({ expect }) => {
      const result = await checkTreeWith({ 'packages/client/src/index.ts': `import { newId } from '../../../apps/server/src/platform/ids.js';` });
      expectOnlyViolation(expect, result, 'client-not-to-apps', 'packages/client/src/index.ts', `${S}/platform/ids.ts`);
    });

    // Every workspace package imports api-types, so an import back from it also closes a circle.
    it('api-types-self-contained: fails when api-types imports @patchbay/openapi-http', async ({ expect }) => {
      const result = await checkTreeWith({ 'packages/api-types/src/operations.ts': `import type { HttpProblem } from '@patchbay/openapi-http';` });
      expectOnlyViolation(expect, withoutCircles(result), 'api-types-self-contained', 'packages/api-types/src/operations.ts', 'packages/openapi-http/src/index.ts');
    });

    it('api-types-self-contained: fails when api-types imports the client by a relative path', async ({ expect }) => {
      const result = await checkTreeWith({ 'packages/api-types/src/index.ts': `export { createPatchbayClient } from '../../client/src/client.js';` });
      expectOnlyViolation(expect, withoutCircles(result), 'api-types-self-contained', 'packages/api-types/src/index.ts', 'packages/client/src/client.ts');
    });

    it('mock-not-to-server: fails when the mock imports @patchbay/server', async ({ expect }) => {
      const result = await checkTreeWith({ 'apps/mock/src/main.mjs': `import { createApp } from '@patchbay/server';` });
      expectOnlyViolation(expect, result, 'mock-not-to-server', 'apps/mock/src/main.mjs', `${S}/index.ts`);
    });

    it('mock-not-to-server: fails when the mock imports a file of the server by a relative path', async ({ expect }) => {
      const result = await checkTreeWith({ 'apps/mock/src/main.mjs': `import { problemFor } from '../../server/src/http/problems.js';` });
      expectOnlyViolation(expect, result, 'mock-not-to-server', 'apps/mock/src/main.mjs', `${S}/http/problems.ts`);
    });
  });

  describe('no-circular: no import circle anywhere', () => {
    it('fails on a circle inside platform/', async ({ expect }) => {
      const result = await checkTreeWith({ [`${S}/platform/errors.ts`]: `import { newId } from './ids.js';`, [`${S}/platform/ids.ts`]: `import { DomainError } from './errors.js';` });
      expectCircleThrough(expect, result, `${S}/platform/ids.ts`, `${S}/platform/errors.ts`);
    });

    it('fails on a circle of type-only imports', async ({ expect }) => {
      const result = await checkTreeWith({
        [`${CONNECTIONS}/status.ts`]: `import type { ConnectionNotFound } from './errors.js';`,
        [`${CONNECTIONS}/errors.ts`]: `import type { isActive } from './status.js';`,
      });
      expectCircleThrough(expect, result, `${CONNECTIONS}/errors.ts`, `${CONNECTIONS}/status.ts`);
    });

    it('fails on a circle across workspace packages, through their names', async ({ expect }) => {
      const result = await checkTreeWith({
        'packages/client/src/client.ts': `import { HttpProblem } from '@patchbay/openapi-http';`,
        'packages/openapi-http/src/index.ts': `import { createPatchbayClient } from '@patchbay/client';`,
      });
      expectCircleThrough(expect, result, 'packages/openapi-http/src/index.ts', 'packages/client/src/index.ts');
    });
  });

  describe('the wiring and the platform stay outside the features', () => {
    it('platform-knows-no-features: fails when platform/ imports a module', async ({ expect }) => {
      const result = await checkTreeWith({ [`${S}/platform/ids.ts`]: `import { isActive } from '../modules/connections/status.js';` });
      expectOnlyViolation(expect, result, 'platform-knows-no-features', `${S}/platform/ids.ts`, `${CONNECTIONS}/status.ts`);
    });

    it('platform-knows-no-features: fails when platform/ imports http/', async ({ expect }) => {
      const result = await checkTreeWith({ [`${S}/platform/config.ts`]: `import type { problemFor } from '../http/problems.js';` });
      expectOnlyViolation(expect, result, 'platform-knows-no-features', `${S}/platform/config.ts`, `${S}/http/problems.ts`);
    });

    it('modules-not-to-wiring: fails when a module imports runtime.ts', async ({ expect }) => {
      const result = await checkTreeWith({ [`${CONNECTIONS}/handlers/get-connection.ts`]: `import { createRuntime } from '../../../runtime.js';` });
      expectOnlyViolation(expect, result, 'modules-not-to-wiring', `${CONNECTIONS}/handlers/get-connection.ts`, `${S}/runtime.ts`);
    });
  });
});

