// The specs build as functions, run in-process with Redocly's own engine (@redocly/openapi-core,
// the library the CLI is made of): lint every API declared in redocly.yaml, bundle it, check
// what spans APIs (operationIds), validate the provider catalog, and write dist/. build.mjs
// runs it once; dev.mjs keeps it loaded and runs it on every save, which is what makes a spec
// edit reach the server in well under a second of build (decision 0012).
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BaseResolver, bundle, clearPluginsCache, formatProblems, getTotals, lint, lintConfig, loadConfig } from '@redocly/openapi-core';
import YAML from 'yaml';
import { validateCatalog } from './catalog.mjs';

/** A problem of the specs that stops the build; its message is meant for the spec author. */
export class SpecsError extends Error {}

/**
 * redocly.yaml and the APIs it declares, each with its root document and bundle path.
 * `fresh` re-imports the lint plugins (after an edit of specs/lint/).
 */
export async function loadSpecsConfig(root, { fresh = false } = {}) {
  if (fresh) clearPluginsCache();
  const config = await loadConfig({ configPath: join(root, 'redocly.yaml') });
  const apis = Object.entries(config.resolvedConfig.apis ?? {}).map(([key, api]) => {
    const [name, version] = key.split('@');
    if (!api.output?.endsWith(`/${name}.json`)) throw new SpecsError(`redocly.yaml: api '${key}' must set output: specs/dist/${name}.json`);
    return { key, name, version, root: resolve(root, api.root), output: resolve(root, api.output) };
  });
  if (apis.length === 0) throw new SpecsError('redocly.yaml declares no apis');
  return { root, config, apis };
}

/** Lints redocly.yaml and every API, as `redocly lint` does; prints the problems as code frames.
 * `resolver` (a BaseResolver) keeps the parsed files between runs: the dev watcher passes one
 * and evicts the files that changed; `only` names the APIs to lint (default: all). @returns {Promise<{ errors: number, warnings: number }>} */
export async function lintSpecs({ root, config, apis }, { resolver, only } = {}) {
  const problems = [...(await lintConfig({ config }))];
  for (const api of apis.filter((a) => !only || only.includes(a.name))) problems.push(...(await lint({ ref: api.root, config: config.forAlias(api.key), ...(resolver ? { externalRefResolver: resolver } : {}) })));
  const totals = getTotals(problems);
  if (problems.length > 0) formatProblems(problems, { format: 'codeframe', totals, cwd: root, command: 'lint', color: process.stderr.isTTY });
  return totals;
}

/** A resolver for lintSpecs that parses each file once; evict a changed file with
 * `resolver.cache.delete(absolutePath)`. */
export const createResolver = ({ config }) => new BaseResolver(config.resolve);

/** Bundles every API (refs inlined into one document each, as `redocly bundle` writes them),
 * checks that operationIds are unique across APIs and validates the catalog against the
 * bundled `Provider` schema. Writes nothing.
 * @returns {Promise<{ documents: Record<string, object>, files: Record<string, Set<string>>, providers: object[] }>} */
export async function bundleSpecs({ root, config, apis }) {
  const documents = {};
  const madeOf = {}; // the files each bundle was made of
  for (const api of apis) {
    const result = await bundle({ ref: api.root, config: config.forAlias(api.key), dereference: false });
    const errors = result.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) throw new SpecsError(`bundling ${api.key} failed:\n${errors.map((p) => `  ${p.message}`).join('\n')}`);
    documents[api.name] = result.bundle.parsed;
    madeOf[api.name] = new Set([api.root, ...result.fileDependencies]);
  }

  // Each operationId names a handler, a type alias and a client call across all APIs: keep them unique.
  const owners = new Map();
  for (const api of apis) {
    for (const item of Object.values(documents[api.name].paths ?? {})) {
      for (const operation of Object.values(item)) {
        if (!operation?.operationId) continue;
        const other = owners.get(operation.operationId);
        if (other) throw new SpecsError(`operationId '${operation.operationId}' is used by both ${other} and ${api.key}`);
        owners.set(operation.operationId, api.key);
      }
    }
  }

  const catalogDir = join(root, 'specs', 'providers');
  const files = readdirSync(catalogDir).filter((f) => f.endsWith('.yaml')).sort();
  const entries = files.map((file) => ({ file: `specs/providers/${file}`, slug: basename(file, '.yaml'), provider: YAML.parse(readFileSync(join(catalogDir, file), 'utf8')) }));
  const problems = validateCatalog(entries, documents.connections);
  if (problems.length > 0) throw new SpecsError(`the provider catalog has ${problems.length} problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return { documents, files: madeOf, providers: entries.map((e) => e.provider) };
}

/**
 * Writes one file atomically (a temporary file, then a rename), so that a process watching
 * the folder never reads half a file; a file whose content is unchanged is not touched, so
 * that a save that changes nothing in the bundle reloads nothing.
 * @returns {boolean} whether the file changed
 */
export function writeAtomically(path, content) {
  try {
    if (readFileSync(path, 'utf8') === content.toString()) return false;
  } catch {
    // not there yet
  }
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
  return true;
}

/** Writes dist/: `<api>.json` and `<api>.yaml` per API, `providers.json`, `apis.json`; removes
 * what an API no longer declared left behind. @returns {string[]} the files that changed */
export function writeDist({ root, apis }, { documents, providers }) {
  const distDir = join(root, 'specs', 'dist');
  mkdirSync(distDir, { recursive: true });
  const files = new Map();
  for (const api of apis) {
    files.set(`${api.name}.json`, JSON.stringify(documents[api.name], null, 2)); // as `redocly bundle` writes it
    files.set(`${api.name}.yaml`, YAML.stringify(documents[api.name], { aliasDuplicateObjects: false }));
  }
  files.set('providers.json', `${JSON.stringify({ providers }, null, 2)}\n`);
  files.set('apis.json', `${JSON.stringify({ apis: apis.map(({ name, version, key }) => ({ name, version, key, bundle: `${name}.json` })) }, null, 2)}\n`);
  const changed = [...files].filter(([name, content]) => writeAtomically(join(distDir, name), content)).map(([name]) => name);
  for (const name of readdirSync(distDir)) if (!files.has(name)) rmSync(join(distDir, name), { recursive: true, force: true });
  return changed;
}
