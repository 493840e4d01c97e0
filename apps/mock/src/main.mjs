#!/usr/bin/env node
// The Patchbay mock: one HTTP server answering every operation of every API declared in
// redocly.yaml, from the bundles in @patchbay/api-types (the same artifact the server
// validates against). Requests are validated exactly as the server validates them (see
// app.mjs); valid ones are answered by Prism from the spec's examples. It reloads when the
// bundles change; with PATCHBAY_MOCK_WATCH=specs (the default for `start` inside the
// workspace) it also re-lints and re-bundles on a spec edit.
//
//   HOST (127.0.0.1)  PORT (4010)
//   --stateful | PATCHBAY_MOCK_STATEFUL=true   remember writes, per API key, from the examples on
//                                              (`Prefer: stateful=true` asks for it on one request)
//   PATCHBAY_MOCK_MAX_KEYS (50), PATCHBAY_MOCK_MAX_CONNECTIONS (500 per key)   the stateful store's
//                                              bounds: the least recently used key is forgotten
//   --dynamic | PATCHBAY_MOCK_DYNAMIC=true   answer with generated data instead of the examples
//   --seed=<s> | PATCHBAY_MOCK_SEED (patchbay)   seed for dynamic answers: a fresh mock with the
//                                                same seed gives the same answers in the same order
//   --watch-bundles | PATCHBAY_MOCK_WATCH=specs|bundles|off   what to watch (default: specs when present)
//   LOG_LEVEL=warn   error|warn|info; at info one line per request (never headers or bodies)
import { spawnSync } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHttpOperationsFromSpec } from '@stoplight/prism-http';
import { apiNames, bundlePath, loadProviderCatalog } from '@patchbay/api-types/documents';
import { operationsOf } from '@patchbay/api-types/operations';
import { loadApis } from '@patchbay/openapi-http';
import { createMockApp } from './app.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const workspace = resolve(here, '..', '..', '..');
const specsDir = join(workspace, 'specs');

function fail(variable, reason) {
  console.error(`patchbay mock: invalid configuration: ${variable}: ${reason}`);
  process.exit(78);
}
const argument = (name) => {
  const index = process.argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (index < 0) return undefined;
  const arg = process.argv[index];
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (process.argv[index + 1] ?? '');
};

const host = process.env.HOST?.trim() || '127.0.0.1';
const portText = process.env.PORT?.trim() || '4010';
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535) fail('PORT', `'${portText}' is not a port number (0-65535)`);
const dynamicText = process.argv.includes('--dynamic') ? 'true' : (process.env.PATCHBAY_MOCK_DYNAMIC ?? 'false').toLowerCase();
if (!['true', 'false', '1', '0'].includes(dynamicText)) fail('PATCHBAY_MOCK_DYNAMIC', 'must be true or false');
const dynamic = dynamicText === 'true' || dynamicText === '1';
const statefulText = process.argv.includes('--stateful') ? 'true' : (process.env.PATCHBAY_MOCK_STATEFUL ?? 'false').toLowerCase();
if (!['true', 'false', '1', '0'].includes(statefulText)) fail('PATCHBAY_MOCK_STATEFUL', 'must be true or false');
const stateful = statefulText === 'true' || statefulText === '1';
function positive(variable, fallback) {
  const text = process.env[variable]?.trim();
  if (!text) return fallback;
  if (!/^[1-9]\d{0,6}$/.test(text)) fail(variable, `'${text}' is not a positive integer`);
  return Number(text);
}
const limits = { keys: positive('PATCHBAY_MOCK_MAX_KEYS', 50), connectionsPerKey: positive('PATCHBAY_MOCK_MAX_CONNECTIONS', 500) };
const seed = argument('seed') || process.env.PATCHBAY_MOCK_SEED || 'patchbay';
const watchMode = process.argv.includes('--watch-bundles')
  ? 'bundles'
  : (process.env.PATCHBAY_MOCK_WATCH ?? (existsSync(join(specsDir, 'scripts', 'build.mjs')) ? 'specs' : 'off'));
if (!['specs', 'bundles', 'off'].includes(watchMode)) fail('PATCHBAY_MOCK_WATCH', 'must be specs, bundles or off');
const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4, trace: 5 };
const levelName = (process.env.LOG_LEVEL || 'warn').toLowerCase();
if (!(levelName in LEVELS)) fail('LOG_LEVEL', `must be one of ${Object.keys(LEVELS).join(', ')}`);

/** JSON lines on stderr, in the shape Prism's logger is called with (pino-like). */
function createLogger(bindings = {}) {
  const write = (level) => (first, message) => {
    if (LEVELS[level] > LEVELS[levelName]) return;
    const fields = typeof first === 'object' && first !== null ? first : { msg: first };
    // Prism logs whole requests at info; keep only what cannot carry a secret.
    const { input, ...rest } = fields;
    const line = { level, time: new Date().toISOString(), service: 'patchbay-mock', ...bindings, ...rest, ...(message ? { msg: message } : {}) };
    if (input) line.request = { method: input.method, path: input.url?.path };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  };
  return {
    fatal: write('error'),
    error: write('error'),
    warn: write('warn'),
    info: write('info'),
    debug: write('debug'),
    trace: write('trace'),
    success: write('info'),
    child: (more) => createLogger({ ...bindings, ...more }),
  };
}
const logger = createLogger();

/** The APIs for validation and Prism's model of every operation, from one read of the current
 * bundles: a reload mid-write can never validate against one version and answer from another. */
async function load() {
  const apis = loadApis();
  // Prism dereferences the document it is given: give it its own copy.
  const operations = (await Promise.all(apis.map((api) => getHttpOperationsFromSpec(structuredClone(api.document))))).flat();
  const specOperations = apis.flatMap((api) => operationsOf(api.document, api.name));
  const providers = loadProviderCatalog();
  return { app: createMockApp({ apis, operations, specOperations, providers, stateful, limits, dynamic, seed, logger }), count: operations.length };
}

let current = await load();
const server = createServer((req, res) => current.app(req, res));
server.keepAliveTimeout = 5_000;
await new Promise((resolveListen, reject) => {
  server.once('error', reject);
  server.listen(port, host, resolveListen);
});
const address = server.address();
console.log(`Patchbay mock: http://${address.address}:${address.port}  (${current.count} operations from ${apiNames.join(', ')}; ${dynamic ? `dynamic, seed ${seed}` : 'examples'}${stateful ? ', stateful per API key' : ''}; watching ${watchMode})`);

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
      current = await load(); // requests in flight finish on the previous app
      console.log(`Patchbay mock: reloaded after ${reason} in ${Math.round(performance.now() - started)} ms (${current.count} operations)`);
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
    // The bundles folder is flat: watch it alone. (Node 20's recursive watch on Linux loses a
    // file once it is replaced by a rename, which is how every bundle is written.)
    watch(path, { recursive: watchMode === 'specs' && path === target }, (_event, file) => {
      if (!file || file.includes('dist') || file.includes('node_modules') || file.endsWith('.tmp')) return;
      if (watchMode === 'specs' && !/\.(ya?ml|js|mjs)$/.test(file)) return;
      clearTimeout(timer);
      // Bundles are written whole (write, rename) within a few ms of each other: a short wait does.
      timer = setTimeout(() => reload(`a change to ${file}`), watchMode === 'bundles' ? 30 : 150);
    });
  }
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
