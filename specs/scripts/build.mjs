#!/usr/bin/env node
// Lints the specs with Redocly, bundles every API declared in redocly.yaml into dist/, and
// validates the provider catalog against the bundled `Provider` schema. Every later step of
// the workspace (types, server, client, mock, docs, tests) reads what this writes. The work
// itself is in pipeline.mjs, which `pnpm dev` (dev.mjs) keeps loaded and runs on every save.
//
//   node scripts/build.mjs              lint + bundle + catalog
//   node scripts/build.mjs --lint-only  lint only
//   PATCHBAY_SPECS_ROOT=/tmp/copy node scripts/build.mjs   build another copy of the workspace
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpecsError, bundleSpecs, lintSpecs, loadSpecsConfig, writeDist } from './pipeline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// The workspace root holds redocly.yaml; a test can point us at a temporary copy.
const root = resolve(process.env.PATCHBAY_SPECS_ROOT ?? join(here, '..', '..'));

function fail(message) {
  console.error(`\n✖ specs: ${message}`);
  process.exit(1);
}

const started = performance.now();
try {
  const specs = await loadSpecsConfig(root);
  const names = specs.apis.map((a) => a.key).join(', ');
  const totals = await lintSpecs(specs);
  if (totals.errors > 0) fail(`redocly lint failed: ${totals.errors} error(s) (see the problems above)`);
  if (process.argv.includes('--lint-only')) {
    console.log(`specs: lint passed for ${names}`);
    process.exit(0);
  }
  const built = await bundleSpecs(specs);
  writeDist(specs, built);
  const ms = Math.round(performance.now() - started);
  console.log(`specs: linted and bundled ${names}; ${built.providers.length} providers valid (${ms} ms)`);
} catch (error) {
  if (error instanceof SpecsError) fail(error.message);
  throw error;
}
