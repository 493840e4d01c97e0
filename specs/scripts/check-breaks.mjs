#!/usr/bin/env node
// The breaking-change gate (`pnpm lint` runs it after the Redocly lint): bundles every API
// in-process, compares it with its last release in specs/released/, and fails naming each
// change that would break a released client unless specs/released/ALLOWED-BREAKS.yaml allows
// it; an allowed break the specs no longer make fails too. See breaking-changes.mjs and
// decision 0014.
//
//   node scripts/check-breaks.mjs
//   PATCHBAY_SPECS_ROOT=/tmp/copy node scripts/check-breaks.mjs   check another copy of the workspace
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGate } from './breaking-changes.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(process.env.PATCHBAY_SPECS_ROOT ?? join(here, '..', '..'));

const { ok, output } = await runGate(root);
if (ok) console.log(output);
else {
  console.error(`\n${output}`);
  process.exitCode = 1;
}
