/**
 * `pnpm --filter @patchbay/server rotate-keys [--batch-size=N] [--batch-delay-ms=N] [--keep-previous]`:
 * re-wraps every sealed record's data key (credentials, webhook secrets) under the current PATCHBAY_MASTER_KEY, with a progress bar.
 * Reads the same environment as the server (and checks the key ring the same way). Resumes
 * the running rotation if there is one; while a server process holds it, follows it.
 * Exit 0 when the rotation succeeded, 1 when it failed, 78 on a configuration error.
 */
import { ConfigError, loadConfig } from './platform/config.js';
import { createLogger } from './platform/logger.js';
import { KeyRingRefused } from './modules/keys/errors.js';
import type { ApiKeyRotation } from './modules/keys/service.js';
import { createRuntime } from './runtime.js';

function flag(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.slice(2).find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

function wholeNumber(name: string, min: number, max: number): number | undefined {
  const text = flag(name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    console.error(`rotate-keys: --${name} must be a whole number from ${min} to ${max}`);
    process.exit(64); // EX_USAGE
  }
  return value;
}

const batchSize = wholeNumber('batch-size', 1, 1000);
const batchDelayMs = wholeNumber('batch-delay-ms', 0, 60_000);
const retirePrevious = !process.argv.includes('--keep-previous');

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`rotate-keys: invalid configuration: ${error.message}`);
    process.exit(78);
  }
  throw error;
}

const logger = createLogger(process.env.LOG_LEVEL?.trim() || 'warn');
const runtime = await createRuntime(config, logger, { keyRotationWorker: false }).catch((error: Error) => {
  console.error(error instanceof KeyRingRefused ? `rotate-keys: the key ring does not fit this database: ${error.message}` : `rotate-keys: could not open the database: ${error.message}`);
  process.exit(error instanceof KeyRingRefused ? 78 : 1);
});
const { keys } = runtime.services;
const started = performance.now();
const tty = process.stderr.isTTY === true;
let lastPrintedTenth = -1;

function draw(rotation: ApiKeyRotation): void {
  const total = Math.max(rotation.records_total, rotation.records_rewrapped);
  const fraction = total === 0 ? 1 : rotation.records_rewrapped / total;
  const width = 30;
  const filled = Math.round(fraction * width);
  const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${rotation.records_rewrapped}/${total} records  ${((performance.now() - started) / 1000).toFixed(1)} s`;
  if (tty) {
    process.stderr.write(`\r${line}`);
  } else if (Math.floor(fraction * 10) !== lastPrintedTenth) {
    // Not a terminal (a CI log): a line per tenth, not a carriage-return animation.
    lastPrintedTenth = Math.floor(fraction * 10);
    process.stderr.write(`${line}\n`);
  }
}

let exitCode = 0;
try {
  const running = await keys.runningRotation();
  let rotation = running ?? (await keys.startRotation({ actor: { type: 'system', id: null } }, { batch_size: batchSize, batch_delay_ms: batchDelayMs, retire_previous: retirePrevious }));
  console.error(`rotate-keys: ${running ? 'resuming' : 'started'} rotation ${rotation.id} to key version ${rotation.target_version} (${rotation.records_total} records under older versions)`);
  draw(rotation);
  while (rotation.status === 'running') {
    const outcome = await keys.run(rotation.id, draw);
    if (outcome === 'other_version') {
      console.error(`\nrotate-keys: rotation ${rotation.id} re-wraps under key version ${rotation.target_version}, but this PATCHBAY_MASTER_KEY is another version; run it with that key`);
      exitCode = 1;
      break;
    }
    if (outcome === 'held') await new Promise((resolve) => setTimeout(resolve, 500)); // a server process runs it: follow
    rotation = await keys.getRotation(rotation.id);
    draw(rotation);
  }
  if (tty) process.stderr.write('\n');
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (rotation.status === 'succeeded') {
    console.log(
      `rotate-keys: rotation ${rotation.id} succeeded: ${rotation.records_rewrapped} records re-wrapped under key version ${rotation.target_version} in ${seconds} s; ` +
        (rotation.retire_previous ? `versions below ${rotation.target_version} are retired: remove them from PATCHBAY_MASTER_KEYS_PREVIOUS` : 'older versions are kept'),
    );
  } else if (rotation.status === 'failed') {
    console.error(`rotate-keys: rotation ${rotation.id} failed: ${rotation.error}`);
    exitCode = 1;
  }
} catch (error) {
  console.error(`\nrotate-keys: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  await runtime.close();
}
process.exit(exitCode);
