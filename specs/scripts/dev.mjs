#!/usr/bin/env node
// The spec author's loop (`pnpm dev` runs it next to the server and the mock): one long-lived
// process that keeps Redocly's engine, the lint plugin and the types generator loaded, and on
// every save under specs/ (or of redocly.yaml)
//   1. lints and bundles in-process (pipeline.mjs); a problem is printed as a code frame and
//      nothing is written, so the server and the mock keep serving the last good specs;
//   2. writes specs/dist and packages/api-types/bundles atomically, only the files that
//      changed: the server and the mock watch bundles/ and swap their apps in place;
//   3. regenerates the types (packages/api-types/src/generated) in-process, once the server
//      and the mock have had the cores to reload (a newer save postpones it);
//   4. rebuilds @patchbay/api-types and @patchbay/client with tsc, at low priority, in the
//      background (a newer save cancels it), and prints their type errors.
// Step 2 is what the server, the mock and /docs wait for; it is done first. See decision 0012.
//
//   PATCHBAY_SPECS_ROOT=<dir>   watch another copy of the workspace (redocly.yaml and specs/)
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, watch } from 'node:fs';
import { setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecsError, bundleSpecs, createResolver, lintSpecs, loadSpecsConfig, writeDist } from './pipeline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.env.PATCHBAY_SPECS_ROOT ?? join(here, '..', '..'));
const specsDir = join(root, 'specs');
const distDir = join(specsDir, 'dist');
const apiTypesDir = join(root, 'packages', 'api-types');
// The generator of the workspace these scripts belong to (dev-time only: the package graph
// runs the other way, api-types reads what specs builds).
const generatorPath = join(here, '..', '..', 'packages', 'api-types', 'scripts', 'generator.mjs');
const generator = existsSync(generatorPath) && existsSync(apiTypesDir) ? await import(generatorPath) : undefined;
const tsc = join(here, '..', '..', 'node_modules', '.bin', 'tsc');
// Built after each change of the types, in this order (the client reads api-types' declarations).
const typedPackages = [apiTypesDir, join(root, 'packages', 'client')].filter((dir) => existsSync(join(dir, 'tsconfig.json')));

const ms = (since) => `${Math.round(performance.now() - since)} ms`;
const log = (line) => console.log(`specs: ${line}`);
const problem = (line) => console.error(`\n✖ specs: ${line}`);

let specs;
let resolver; // the parsed spec files, kept between saves; a changed file is evicted
let lastGood; // the files each API was bundled from at the last good run, if the last run was good
/** A save: lint, bundle, write the bundles, generate the types, start the background build. */
async function run(reason, { freshConfig = false, files = [] } = {}) {
  const started = performance.now();
  try {
    if (!specs || freshConfig) {
      specs = await loadSpecsConfig(root, { fresh: Boolean(specs) });
      resolver = createResolver(specs);
    }
    const paths = files.map((file) => join(root, file));
    for (const path of paths) resolver.cache.delete(path);
    // Lint only the APIs made of the saved files; every API after a failed run or when a
    // saved file belongs to none of them (a new file, the config, the lint plugin).
    const owners = lastGood && !freshConfig ? specs.apis.filter((api) => paths.some((path) => lastGood[api.name]?.has(path))).map((api) => api.name) : [];
    const only = owners.length > 0 && paths.every((path) => Object.values(lastGood).some((set) => set.has(path))) ? owners : undefined;
    lastGood = undefined;
    const totals = await lintSpecs(specs, { resolver, only });
    if (totals.errors > 0) {
      problem(`${reason}: the lint found ${totals.errors} error(s) (above); the server and the mock keep serving the previous specs`);
      return;
    }
    const linted = performance.now();
    const built = await bundleSpecs(specs);
    const changedDist = writeDist(specs, built);
    lastGood = built.files;
    const bundles = generator ? generator.copyBundles(distDir, apiTypesDir) : changedDist;
    log(`${reason}: linted ${only ? only.join(', ') : 'all'} in ${Math.round(linted - started)} ms, bundled; ${bundles.length ? `new bundles (${bundles.join(', ')}) after ${ms(started)}` : 'the bundles did not change'}`);
    if (generator) scheduleTypes();
  } catch (error) {
    if (error instanceof SpecsError) problem(`${reason}: ${error.message}\n  the server and the mock keep serving the previous specs`);
    else problem(`${reason}: ${error.stack ?? error}\n  the server and the mock keep serving the previous specs`);
  }
}

// The types are off the critical path: the server and the mock are reloading on the same
// cores when the bundles land, so the types wait for them, and a newer save postpones them.
const TYPES_DELAY_MS = 750;
let typesTimer;
let typesRunning = false;
function scheduleTypes() {
  clearTimeout(typesTimer);
  typesTimer = setTimeout(async () => {
    if (running || typesRunning) return scheduleTypes();
    typesRunning = true;
    const started = performance.now();
    try {
      const types = await generator.generateTypes(distDir, apiTypesDir);
      if (types.changed.length > 0) {
        log(`types regenerated in ${ms(started)} (${types.changed.join(', ')}); building ${typedPackages.map((d) => d.split('/').pop()).join(', ')} in the background`);
        buildTypedPackages();
      }
    } catch (error) {
      problem(`the types could not be generated: ${error.stack ?? error}`);
    } finally {
      typesRunning = false;
    }
  }, TYPES_DELAY_MS);
}

let building; // the tsc child in flight, if any
/** tsc for api-types then the client, niced so that the server's and the mock's reloads come first. */
function buildTypedPackages() {
  building?.kill('SIGTERM'); // a newer save makes it stale
  const next = (index) => {
    if (index >= typedPackages.length) return;
    const child = spawn(tsc, ['-p', join(typedPackages[index], 'tsconfig.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
    building = child;
    try {
      setPriority(child.pid, 10);
    } catch {
      // not allowed here: it runs at normal priority
    }
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code, signal) => {
      if (building === child) building = undefined;
      if (signal) return;
      if (code !== 0) return problem(`the types no longer compile in ${typedPackages[index]}:\n${output.trim()}`);
      next(index + 1);
    });
  };
  next(0);
}

// One run at a time; saves that arrive meanwhile are gathered into the next run.
let running = false;
const pending = new Map(); // file -> whether it needs a fresh config
async function drain() {
  if (running || pending.size === 0) return;
  running = true;
  const files = [...pending.keys()];
  const freshConfig = [...pending.values()].some(Boolean);
  pending.clear();
  await run(files.length === 1 ? files[0] : `${files.length} files`, { freshConfig, files });
  running = false;
  void drain();
}

let timer;
function changed(file, freshConfig = false) {
  pending.set(file, pending.get(file) || freshConfig);
  clearTimeout(timer);
  // Editors save in several steps (truncate, write; or write a copy, rename): wait for the last.
  timer = setTimeout(drain, 40);
}

const ignored = (file) => /(^|\/)(dist|node_modules|\.turbo)(\/|$)|\.tmp$|~$|\.sw.$|(^|\/)4913$/.test(file);

/** Calls onChange(relative path) for every change under dir. One watch per folder, not Node's
 * recursive watch: on Linux, Node 20's loses a file for good once an editor saves it by
 * writing a copy and renaming it over the original; a folder's own watch does not. */
function watchTree(dir, onChange, relativeDir = '') {
  const watcher = watch(dir, (_event, name) => {
    if (!name) return;
    const file = relativeDir ? `${relativeDir}/${name}` : name;
    if (ignored(file)) return;
    try {
      if (statSync(join(dir, name)).isDirectory() && !watchedDirs.has(join(dir, name))) watchTree(join(dir, name), onChange, file);
    } catch {
      // removed meanwhile
    }
    onChange(file);
  });
  watchedDirs.add(dir);
  watcher.on('error', () => {
    watcher.close();
    watchedDirs.delete(dir); // the folder was removed
  });
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = relativeDir ? `${relativeDir}/${entry.name}` : entry.name;
    if (entry.isDirectory() && !ignored(file)) watchTree(join(dir, entry.name), onChange, file);
  }
}
const watchedDirs = new Set();

watchTree(specsDir, (file) => {
  if (file.startsWith('scripts/')) return log(`${file} changed: restart pnpm dev to run the new build scripts`);
  if (!/\.(ya?ml|json|m?js)$/.test(file)) return;
  changed(`specs/${file}`, file.startsWith('lint/'));
});
watch(root, (_event, file) => {
  if (file === 'redocly.yaml') changed('redocly.yaml', true);
});

await run('start');
log(`watching specs/ and redocly.yaml in ${root}${generator ? '' : ' (no packages/api-types here: bundles only)'}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    building?.kill('SIGTERM');
    process.exit(0);
  });
}
