#!/usr/bin/env node
// Run when a version is released (`pnpm --filter @patchbay/specs release-snapshot`): makes the
// specs as they are now the baseline of the breaking-change gate. It lints and bundles every
// API, refuses while the gate fails (every break shipped must have been allowed in review),
// writes specs/released/<api>.json, removes the bundle of an API no longer declared, and
// empties ALLOWED-BREAKS.yaml: the breaks it allowed are now released. Commit the result.
//
//   PATCHBAY_SPECS_ROOT=/tmp/copy node scripts/release-snapshot.mjs   snapshot another copy
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALLOWED_BREAKS_FILE, RELEASED_DIR, checkBreakingChanges, formatGateFailure } from './breaking-changes.mjs';
import { SpecsError, bundleSpecs, lintSpecs, loadSpecsConfig } from './pipeline.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.env.PATCHBAY_SPECS_ROOT ?? join(here, '..', '..'));

/** The marker file as the snapshot leaves it: its explanation and no entry. */
export const EMPTY_ALLOWED_BREAKS = `# Breaking changes against specs/released/ that are deliberate and agreed in review.
# \`pnpm lint\` (specs/scripts/check-breaks.mjs) fails on any other break, and on an entry here
# that no longer matches a break. Copy the id the gate prints, exactly, and say why:
#
#   allowed:
#     - break: "connections DELETE /v1/connections/{connectionId}: removed-operation"
#       reason: "archiving moves to POST .../archive; every client migrated (agreed by ...)"
#
# \`pnpm --filter @patchbay/specs release-snapshot\` empties this list: once released, a break
# is the new baseline.
allowed: []
`;

function fail(message) {
  console.error(`\n✖ specs: ${message}`);
  process.exit(1);
}

try {
  const specs = await loadSpecsConfig(root);
  const totals = await lintSpecs(specs);
  if (totals.errors > 0) fail(`redocly lint failed: ${totals.errors} error(s) (see the problems above); nothing released`);
  const { documents } = await bundleSpecs(specs);
  const releasedDir = join(root, RELEASED_DIR);
  const hasBaseline = existsSync(releasedDir) && readdirSync(releasedDir).some((file) => file.endsWith('.json'));
  if (hasBaseline) {
    const result = checkBreakingChanges(root, documents);
    if (result.unmarked.length > 0 || result.stale.length > 0) fail(`${formatGateFailure(result)}\n\nNothing released.`);
  }
  mkdirSync(releasedDir, { recursive: true });
  for (const api of specs.apis) writeFileSync(join(releasedDir, `${api.name}.json`), `${JSON.stringify(documents[api.name], null, 2)}\n`);
  const declared = new Set(specs.apis.map((api) => `${api.name}.json`));
  for (const file of readdirSync(releasedDir)) if (file.endsWith('.json') && !declared.has(file)) rmSync(join(releasedDir, file));
  writeFileSync(join(root, ALLOWED_BREAKS_FILE), EMPTY_ALLOWED_BREAKS);
  console.log(`specs: released ${specs.apis.map((api) => api.key).join(', ')} into ${RELEASED_DIR}/; ${ALLOWED_BREAKS_FILE} emptied. Commit both.`);
} catch (error) {
  if (!(error instanceof SpecsError)) throw error;
  fail(error.message);
}
