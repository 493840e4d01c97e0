#!/usr/bin/env node
// The Patchbay mock: one Prism HTTP server answering every operation of every API declared
// in redocly.yaml, from the bundles in @patchbay/api-types (the same artifact the server
// validates against). It reloads when the bundles change; with --watch-specs (the default
// for `start` inside the workspace) it also re-lints and re-bundles on a spec edit.
//
//   HOST (127.0.0.1)  PORT (4010)
//   PATCHBAY_MOCK_DYNAMIC=true   answer with generated data instead of the examples
//   PATCHBAY_MOCK_SEED=patchbay  seed for dynamic answers (the same seed, the same answers)
//   PATCHBAY_MOCK_WATCH=specs|bundles|off   what to watch (default: specs when present)
//   LOG_LEVEL=warn   Prism's log level; at info it logs request headers, API keys included
import { spawnSync } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@stoplight/prism-core';
import { getHttpOperationsFromSpec } from '@stoplight/prism-http';
import { createServer } from '@stoplight/prism-http-server';
import { apiNames, bundlePath } from '@patchbay/api-types/documents';

const here = dirname(fileURLToPath(import.meta.url));
const workspace = resolve(here, '..', '..', '..');
const specsDir = join(workspace, 'specs');

function fail(variable, reason) {
  console.error(`patchbay mock: invalid configuration: ${variable}: ${reason}`);
  process.exit(78);
}
const host = process.env.HOST?.trim() || '127.0.0.1';
const portText = process.env.PORT?.trim() || '4010';
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) fail('PORT', `'${portText}' is not a port number (0-65535)`);
const dynamicText = (process.env.PATCHBAY_MOCK_DYNAMIC ?? 'false').toLowerCase();
if (!['true', 'false', '1', '0'].includes(dynamicText)) fail('PATCHBAY_MOCK_DYNAMIC', 'must be true or false');
const dynamic = dynamicText === 'true' || dynamicText === '1';
const seed = process.env.PATCHBAY_MOCK_SEED || 'patchbay';
const watchMode = process.argv.includes('--watch-bundles')
  ? 'bundles'
  : (process.env.PATCHBAY_MOCK_WATCH ?? (existsSync(join(specsDir, 'scripts', 'build.mjs')) ? 'specs' : 'off'));
if (!['specs', 'bundles', 'off'].includes(watchMode)) fail('PATCHBAY_MOCK_WATCH', 'must be specs, bundles or off');

const logger = createLogger('MOCK', { level: process.env.LOG_LEVEL || 'warn' });

/** Every operation of every API, as Prism models them. */
async function loadOperations() {
  const lists = await Promise.all(apiNames.map((api) => getHttpOperationsFromSpec(bundlePath(api))));
  return lists.flat();
}

async function startPrism(operations) {
  const server = createServer(operations, {
    cors: true,
    components: { logger: logger.child({ name: 'HTTP' }) },
    config: {
      mock: { dynamic, seed, ignoreExamples: false },
      validateRequest: true,
      validateResponse: true,
      checkSecurity: true,
      errors: false,
      upstreamProxy: undefined,
      isProxy: false,
    },
  });
  const address = await server.listen(port, host);
  return Object.assign(server, { address });
}

let operations = await loadOperations();
let server = await startPrism(operations);
console.log(`Patchbay mock: ${server.address}  (${operations.length} operations from ${apiNames.join(', ')}; ${dynamic ? `dynamic, seed ${seed}` : 'examples'}; watching ${watchMode})`);

let reloading = Promise.resolve();
function reload(reason) {
  reloading = reloading.then(async () => {
    const started = performance.now();
    if (watchMode === 'specs') {
      for (const script of [join(specsDir, 'scripts', 'build.mjs'), join(workspace, 'packages', 'api-types', 'scripts', 'generate.mjs')]) {
        const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
        if (result.status !== 0) {
          console.error('patchbay mock: the specs did not build; still serving the previous version');
          return;
        }
      }
    }
    try {
      const next = await loadOperations();
      await server.close();
      operations = next;
      server = await startPrism(operations); // PORT=0 picks a new port on reload
      console.log(`Patchbay mock: reloaded after ${reason} in ${Math.round(performance.now() - started)} ms (${operations.length} operations)`);
    } catch (error) {
      console.error(`patchbay mock: could not reload (${error.message}); still serving the previous version`);
    }
  });
}

if (watchMode !== 'off') {
  const target = watchMode === 'specs' ? specsDir : dirname(bundlePath(apiNames[0]));
  const watched = [target, ...(watchMode === 'specs' ? [join(workspace, 'redocly.yaml')] : [])];
  let timer;
  for (const path of watched) {
    watch(path, { recursive: path === target }, (_event, file) => {
      if (!file || file.includes('dist') || file.includes('node_modules') || file.endsWith('.tmp')) return;
      if (watchMode === 'specs' && !/\.(ya?ml|js|mjs)$/.test(file)) return;
      clearTimeout(timer);
      timer = setTimeout(() => reload(`a change to ${file}`), 150);
    });
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
