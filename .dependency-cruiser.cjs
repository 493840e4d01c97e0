/** Which folder may import which (docs/decisions/0013-dependency-rules.md). `pnpm lint` runs
 * it (the @patchbay/test package's lint script), and test/spec-lint/dependency-rules.test.ts
 * breaks each rule once on a small temporary tree of the layout. Paths are relative to the workspace root; a
 * workspace import (`@patchbay/...`) resolves to its source through tsconfig.boundaries.json. */

const SERVER = '^apps/server/src';
const MODULE = `${SERVER}/modules/([^/]+)`;
// A package from node_modules as pnpm lays it out (realpath under .pnpm), or unresolved by name.
const npm = (names) => `(^|/)node_modules/(${names})/|^(${names})$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'module-core-knows-no-http',
      comment:
        "A feature's service and rule files know no HTTP: they throw domain errors that http/problems.ts maps to problems. " +
        'Only its handlers (entry points) and its repository may import the edge.',
      severity: 'error',
      from: { path: `${MODULE}/`, pathNot: `${MODULE}/(handlers/|repository\\.ts$)` },
      to: { path: [npm('express|express-openapi-validator|@types/express'), '^packages/openapi-http/', `${SERVER}/http/`] },
    },
    {
      name: 'repository-only-from-own-service',
      comment: "A feature's repository (every query of the feature) is used by its own service.ts and by nothing else.",
      severity: 'error',
      from: { pathNot: `${SERVER}/modules/` },
      to: { path: `${MODULE}/repository\\.ts$` },
    },
    {
      name: 'repository-only-from-own-service',
      comment: "Within modules/, only a feature's service.ts may import a repository ...",
      severity: 'error',
      from: { path: `${MODULE}/`, pathNot: `${MODULE}/service\\.ts$` },
      to: { path: `${MODULE}/repository\\.ts$` },
    },
    {
      name: 'repository-only-from-own-service',
      comment: '... and only its own feature\'s.',
      severity: 'error',
      from: { path: `${MODULE}/service\\.ts$` },
      to: { path: `${MODULE}/repository\\.ts$`, pathNot: `${SERVER}/modules/$1/repository\\.ts$` },
    },
    {
      name: 'crypto-only-from-repositories-and-runtime',
      comment:
        'Credentials are encrypted and decrypted only at the store boundary (the repositories); runtime.ts builds the key ring. ' +
        'A type-only import carries no code and is allowed anywhere.',
      severity: 'error',
      from: { pathNot: [`${MODULE}/repository\\.ts$`, `${SERVER}/runtime\\.ts$`, `${SERVER}/platform/crypto/`] },
      to: { path: `${SERVER}/platform/crypto/`, preCompilationOnly: false },
    },
    {
      name: 'platform-knows-no-features',
      comment: 'platform/ holds no business rules and knows no HTTP: it must not import modules/ or http/.',
      severity: 'error',
      from: { path: `${SERVER}/platform/` },
      to: { path: `${SERVER}/(modules|http)/` },
    },
    {
      name: 'modules-not-to-wiring',
      comment: 'app.ts, main.ts and runtime.ts wire the modules together; a module never imports them.',
      severity: 'error',
      from: { path: `${SERVER}/modules/` },
      to: { path: `${SERVER}/(app|main|runtime)\\.ts$` },
    },
    {
      name: 'client-not-to-apps',
      comment: '@patchbay/client runs in browsers and ships alone: nothing of the server or the mock.',
      severity: 'error',
      from: { path: '^packages/client/' },
      to: { path: ['^apps/', '^@patchbay/(server|mock)(/|$)'] },
    },
    {
      name: 'api-types-self-contained',
      comment: '@patchbay/api-types is the root of the package graph: it imports no other workspace package.',
      severity: 'error',
      from: { path: '^packages/api-types/' },
      to: { path: ['^(apps|packages|specs|test)/', '^@patchbay/', '^\\.\\./'], pathNot: '^packages/api-types/' },
    },
    {
      name: 'mock-not-to-server',
      comment: 'The mock shares the edge through @patchbay/openapi-http (decision 0008), never the server itself.',
      severity: 'error',
      from: { path: '^apps/mock/' },
      to: { path: ['^apps/server/', '^@patchbay/server(/|$)'] },
    },
    {
      name: 'no-circular',
      comment: 'No import circle, type-only imports included: a circle means two modules are one, or one is in the wrong place.',
      severity: 'error',
      from: { path: '^(apps|packages)/' },
      to: { circular: true },
    },
  ],
  options: {
    // The workspace root, wherever the check is started from: the lint script runs in test/,
    // and the folders it names (`apps packages`) are relative to this root.
    baseDir: __dirname,
    // Sources only: no build output, no generated code, no installed package is followed.
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|generated|bundles|node_modules/\\.cache|\\.data)/' },
    tsConfig: { fileName: require('node:path').join(__dirname, 'tsconfig.boundaries.json') },
    // Keep type-only imports in the graph and mark them, so the crypto rule can let them pass.
    tsPreCompilationDeps: 'specify',
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
