#!/usr/bin/env node
// Lints the specs with Redocly, bundles every API declared in redocly.yaml into dist/, and
// validates the provider catalog against the bundled `Provider` schema. Every later step of
// the workspace (types, server, client, mock, docs, tests) reads what this writes.
//
//   node scripts/build.mjs              lint + bundle + catalog
//   node scripts/build.mjs --lint-only  lint only
//   PATCHBAY_SPECS_ROOT=/tmp/copy node scripts/build.mjs   build another copy of the workspace
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { validateCatalog } from './catalog.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const specsDir = resolve(here, '..');
// The workspace root holds redocly.yaml; a test can point us at a temporary copy.
const root = resolve(process.env.PATCHBAY_SPECS_ROOT ?? join(specsDir, '..'));
const redocly = join(specsDir, 'node_modules', '.bin', 'redocly');

function run(args) {
  const result = spawnSync(redocly, args, { cwd: root, encoding: 'utf8', env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
  // The CLI prints a Node 20 end-of-support banner on stderr: noise, not an error.
  const output = `${result.stdout}${result.stderr}`.replace(/\n\s*╔[\s\S]*?╝\n/, '\n');
  return { ok: result.status === 0, output };
}

function fail(message) {
  console.error(`\n✖ specs: ${message}`);
  process.exit(1);
}

const started = performance.now();
const config = YAML.parse(readFileSync(join(root, 'redocly.yaml'), 'utf8'));
const apis = Object.entries(config.apis ?? {}).map(([key, api]) => {
  const [name, version] = key.split('@');
  if (!api.output?.endsWith(`/${name}.json`)) fail(`redocly.yaml: api '${key}' must set output: specs/dist/${name}.json`);
  return { key, name, version, root: api.root, output: join(root, api.output) };
});
if (apis.length === 0) fail('redocly.yaml declares no apis');

const lint = run(['lint', '--format=codeframe']);
if (!lint.ok) {
  console.error(lint.output);
  fail('redocly lint failed (see the problems above)');
}
if (process.argv.includes('--lint-only')) {
  console.log(`specs: lint passed for ${apis.map((a) => a.key).join(', ')}`);
  process.exit(0);
}

const distDir = join(root, 'specs', 'dist');
rmSync(distDir, { recursive: true, force: true });
mkdirSync(distDir, { recursive: true });
const bundle = run(['bundle']);
if (!bundle.ok) {
  console.error(bundle.output);
  fail('redocly bundle failed');
}

// Each operationId names a handler, a type alias and a client call across all APIs: keep them unique.
const owners = new Map();
const documents = {};
for (const api of apis) {
  const document = JSON.parse(readFileSync(api.output, 'utf8'));
  documents[api.name] = document;
  writeFileSync(join(distDir, `${api.name}.yaml`), YAML.stringify(document, { aliasDuplicateObjects: false }));
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item)) {
      if (!operation?.operationId) continue;
      const other = owners.get(operation.operationId);
      if (other) fail(`operationId '${operation.operationId}' is used by both ${other} and ${api.key}`);
      owners.set(operation.operationId, api.key);
    }
  }
}

const catalogDir = join(root, 'specs', 'providers');
const files = readdirSync(catalogDir).filter((f) => f.endsWith('.yaml')).sort();
const entries = files.map((file) => ({ file: `specs/providers/${file}`, slug: basename(file, '.yaml'), provider: YAML.parse(readFileSync(join(catalogDir, file), 'utf8')) }));
const problems = validateCatalog(entries, documents.connections);
if (problems.length > 0) {
  console.error(problems.map((p) => `  ${p}`).join('\n'));
  fail(`the provider catalog has ${problems.length} problem(s)`);
}
writeFileSync(join(distDir, 'providers.json'), `${JSON.stringify({ providers: entries.map((e) => e.provider) }, null, 2)}\n`);
writeFileSync(
  join(distDir, 'apis.json'),
  `${JSON.stringify({ apis: apis.map(({ name, version, key }) => ({ name, version, key, bundle: `${name}.json` })) }, null, 2)}\n`,
);

const ms = Math.round(performance.now() - started);
console.log(`specs: linted and bundled ${apis.map((a) => a.key).join(', ')}; ${entries.length} providers valid (${ms} ms)`);
