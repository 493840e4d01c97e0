#!/usr/bin/env node
// Generates src/generated/ and bundles/ from the bundles that @patchbay/specs built (see
// generator.mjs for what each holds). Nothing here is edited by hand; `pnpm generate`
// reproduces it.
//
//   PATCHBAY_SPECS_DIST=<dir>      read another build of the specs (default: specs/dist)
//   PATCHBAY_API_TYPES_OUT=<dir>   generate into a temporary copy instead of this package
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyBundles, generateTypes } from './generator.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, '..');
const distDir = resolve(process.env.PATCHBAY_SPECS_DIST ?? join(packageDir, '..', '..', 'specs', 'dist'));
const outDir = resolve(process.env.PATCHBAY_API_TYPES_OUT ?? packageDir);

const started = performance.now();
copyBundles(distDir, outDir);
const { apis, providers } = await generateTypes(distDir, outDir);
console.log(`api-types: generated ${apis.join(', ')} and ${providers} providers (${Math.round(performance.now() - started)} ms)`);
