#!/usr/bin/env node
// Spectral's OWASP API Security Top 10 ruleset (@stoplight/spectral-owasp-ruleset) on every
// bundle dist/apis.json lists: `pnpm lint` runs it after the build, and
// test/spec-lint/owasp.test.ts in `pnpm test`. Any error fails (exit 1), each printed with its
// rule and JSON path; the rules switched off, and where, are in lint/owasp.spectral.yaml with
// their reasons in docs/decisions/0023-owasp-ruleset.md.
//
//   node scripts/owasp.mjs            the bundles in specs/dist (run the build first)
//   node scripts/owasp.mjs <dir>      a directory holding lint/owasp.spectral.yaml and dist/ (tests)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const specsDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = resolve(process.argv[2] ?? specsDir);
const index = join(dir, 'dist', 'apis.json');
if (!existsSync(index)) {
  console.error(`owasp: ${index} is missing: build the specs first (pnpm --filter @patchbay/specs build)`);
  process.exit(1);
}
const bundles = JSON.parse(readFileSync(index, 'utf8')).apis.map((api) => join('dist', api.bundle));
const spectral = join(specsDir, 'node_modules', '.bin', 'spectral');
const run = spawnSync(spectral, ['lint', '--ruleset', join('lint', 'owasp.spectral.yaml'), '--format', 'text', '--fail-severity', 'error', '--display-only-failures', ...bundles], {
  cwd: dir,
  encoding: 'utf8',
  // Spectral resolves the ruleset's `extends` from the working directory's node_modules; a
  // copy elsewhere (a test) borrows ours.
  env: { ...process.env, NODE_PATH: join(specsDir, 'node_modules') },
});
const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim();
const errors = output.split('\n').filter((line) => / error /.test(line)).length;
if (run.status === 0) console.log(`owasp: ${bundles.join(', ')}: 0 errors (Spectral OWASP API Security Top 10, 2023)`);
else {
  console.error(output);
  console.error(`\nowasp: ${errors} error(s) in ${bundles.join(', ')}`);
  process.exitCode = 1;
}
