#!/usr/bin/env node
// Bundles dist/index.js for the browser as an application would (minified, openapi-fetch
// included) and prints its raw and gzip sizes. platform=browser makes any Node built-in a
// build error, so a clean build is also the proof that the client needs none.
// `--json` prints one JSON line (sizes and the bundle's inputs) for tests; `--outfile f` keeps the bundle.
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outfile = args.includes('--outfile') ? args[args.indexOf('--outfile') + 1] : undefined;

const result = await build({
  entryPoints: [join(packageDir, 'dist', 'index.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  metafile: true,
  logLevel: 'silent',
});
const code = result.outputFiles[0].contents;
if (outfile) writeFileSync(outfile, code);
const raw = code.byteLength;
const gzip = gzipSync(code, { level: 9 }).byteLength;
const inputs = Object.keys(result.metafile.inputs).map((p) => relative(packageDir, join(process.cwd(), p)).replaceAll('\\', '/'));

if (args.includes('--json')) {
  console.log(JSON.stringify({ raw, gzip, inputs }));
} else {
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`@patchbay/client browser bundle (esm, minified, openapi-fetch included): ${raw} bytes (${kb(raw)}) raw, ${gzip} bytes (${kb(gzip)}) gzip`);
  for (const input of inputs) console.log(`  ${input}`);
}
