/**
 * The spec author's loop, measured (a benchmark, not a test: `pnpm --filter @patchbay/test
 * bench:spec-loop`). In a temporary copy of the workspace (never the real specs) it starts
 * `pnpm dev`, waits until the server and the mock answer, then edits one operation's summary
 * several times, as an author saving the YAML would, and times from the save to the moment
 * the new summary is visible:
 *   server  GET /openapi/connections.json on the server (what it validates with)
 *   mock    GET /openapi/connections.json on the mock (the bundle it answers from)
 *   docs    GET /docs on the server, then the bundle the page tells Redoc to load
 * Last, it saves an edit that breaks the lint and checks that both keep the previous specs.
 * It prints each edit's times, then the median, min and max; it kills `pnpm dev`'s whole
 * process group at the end.
 *
 *   --edits=5       how many edits
 *   --poll=50       how often (ms) each target is asked while an edit is timed
 *   --ref=<rev>     copy the tracked files of a git revision instead of the working tree
 *                   (to measure the loop as it was: --ref=<commit before a change>)
 *   --keep          leave the copy in place (its path is printed)
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { workspaceRoot } from '../support/paths.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const EDITS = Number(option('edits') ?? 5);
const REF = option('ref');
const KEEP = process.argv.includes('--keep');
const EDITED_FILE = 'specs/connections/paths/v1_connections.yaml';
const SUMMARY_LINE = /^( {2}operationId: listConnections\n {2}summary: ).*$/m;
const TIMEOUT_MS = 60_000;
// How often each target is asked while an edit is timed: the resolution of the figures.
const POLL_MS = Number(option('poll') ?? 50);
// A cold build of the copy and PGlite's start take minutes on a loaded 2-core machine.
const START_TIMEOUT_MS = 300_000;
/** Lines that mark a step of the loop (old and new pnpm dev), reported per edit. */
const MILESTONES = {
  'specs bundled': /specs: linted and bundled|specs: .*new bundles/,
  'types generated': /api-types: generated|types regenerated/,
  'server reloaded': /Patchbay server: reloaded/,
  'mock reloaded': /Patchbay mock: reloaded/,
};

/** A copy of the workspace's sources; node_modules are linked, not installed: the copy's
 * packages' own node_modules hold relative links (kept as they are), and the root's points at
 * the real store, so the copy runs exactly the installed packages. */
function copyWorkspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'patchbay-spec-loop-'));
  if (REF) {
    execFileSync('sh', ['-c', `git -C "${workspaceRoot}" archive --format=tar "${REF}" | tar -x -C "${root}"`]);
  } else {
    const files = execFileSync('git', ['-C', workspaceRoot, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' })
      .split('\0')
      .filter((f) => f && existsSync(join(workspaceRoot, f)));
    for (const file of files) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      cpSync(join(workspaceRoot, file), join(root, file), { verbatimSymlinks: true });
    }
  }
  symlinkSync(join(workspaceRoot, 'node_modules'), join(root, 'node_modules'));
  const packages = execFileSync('sh', ['-c', `cd "${workspaceRoot}" && ls -d specs test packages/* apps/*`], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const dir of packages) {
    const modules = join(workspaceRoot, dir, 'node_modules');
    if (existsSync(modules) && existsSync(join(root, dir))) cpSync(modules, join(root, dir, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  }
  return root;
}

interface Dev {
  output: () => string;
  /** When (performance.now()) the first line matching `pattern` arrived after `since`. */
  lineAt: (pattern: RegExp, since: number) => number | undefined;
  /** Milliseconds since the last chunk of output. */
  quietFor: () => number;
  exited: () => boolean;
  stop: () => Promise<void>;
}

function startDev(root: string): Dev {
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', FORCE_COLOR: '0' };
  for (const name of ['PATCHBAY_BUNDLES_DIR', 'PATCHBAY_SPECS_ROOT', 'PATCHBAY_SPECS_DIST', 'PATCHBAY_API_TYPES_OUT', 'PATCHBAY_DATA_DIR', 'DATABASE_URL']) delete env[name];
  // Its own process group, so that the end of the bench ends every process pnpm dev started.
  const child = spawn('pnpm', ['dev'], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let last = performance.now();
  const lines: [number, string][] = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    last = performance.now();
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push([last, line]);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let exited = false;
  child.once('exit', () => (exited = true));
  return {
    output: () => output,
    lineAt: (pattern, since) => lines.find(([at, line]) => at >= since && pattern.test(line))?.[0],
    quietFor: () => performance.now() - last,
    exited: () => exited,
    stop: async () => {
      const signal = (name: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, name);
        } catch {
          // the group is gone
        }
      };
      signal('SIGTERM');
      for (let i = 0; i < 100 && !exited; i++) await sleep(100);
      await sleep(500); // the group's other members end after its leader
      signal('SIGKILL');
      // turbo's daemon leaves the group on purpose: stop the one this copy started.
      try {
        execFileSync(join(workspaceRoot, 'node_modules', '.bin', 'turbo'), ['daemon', 'stop'], { cwd: root, stdio: 'ignore', timeout: 10_000 });
      } catch {
        // no daemon was started
      }
    },
  };
}

async function waitFor<T>(what: string, dev: Dev, probe: () => Promise<T | undefined>, timeoutMs = TIMEOUT_MS, pollMs = 100): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (dev.exited()) throw new Error(`pnpm dev exited while waiting for ${what}:\n${dev.output().slice(-4000)}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(pollMs);
  }
  throw new Error(`timed out waiting for ${what}:\n${dev.output().slice(-4000)}`);
}

const summaryIn = (document: { paths: Record<string, { get?: { summary?: string } }> }) => document.paths['/v1/connections']?.get?.summary;

async function summaryAt(url: string): Promise<string | undefined> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return response.ok ? summaryIn((await response.json()) as never) : undefined;
}

/** While timing, a cheap look (no parse of 230 KB every poll): is this summary in the bundle? */
async function bundleHas(url: string, summary: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return response.ok && (await response.text()).includes(`"summary":"${summary}"`);
}

/** What a browser opening /docs sees: the page, then the bundle it tells Redoc to load. */
async function docsHas(serverUrl: string, summary: string): Promise<boolean> {
  const html = await (await fetch(`${serverUrl}/docs`, { signal: AbortSignal.timeout(2_000) })).text();
  const specUrl = /Redoc\.init\('([^']+)'/.exec(html)?.[1];
  return specUrl ? bundleHas(new URL(specUrl, serverUrl).href, summary) : false;
}

function stats(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  return `median ${Math.round(median)} ms, min ${Math.round(sorted[0]!)} ms, max ${Math.round(sorted.at(-1)!)} ms`;
}

const root = copyWorkspace();
console.log(`spec loop: workspace copied to ${root}${REF ? ` (from ${REF})` : ''}; starting pnpm dev`);
const dev = startDev(root);
let failed = false;
try {
  const started = performance.now();
  const serverUrl = await waitFor('the server', dev, async () => /Patchbay server: (http:\/\/\S+)/.exec(dev.output())?.[1], START_TIMEOUT_MS);
  const mockUrl = await waitFor('the mock', dev, async () => /Patchbay mock: (http:\/\/\S+)/.exec(dev.output())?.[1], START_TIMEOUT_MS);
  const original = readFileSync(join(root, EDITED_FILE), 'utf8');
  const initial = SUMMARY_LINE.exec(original)?.[0].split('summary: ')[1];
  if (!initial) throw new Error(`no summary of listConnections in ${EDITED_FILE}`);
  await waitFor('the specs on the server', dev, async () => ((await summaryAt(`${serverUrl}/openapi/connections.json`)) === initial ? true : undefined));
  await waitFor('the specs on the mock', dev, async () => ((await summaryAt(`${mockUrl}/openapi/connections.json`)) === initial ? true : undefined));
  // Whatever the start-up still does (builds, first reloads) must not be counted in an edit.
  await waitFor('pnpm dev to settle', dev, async () => (dev.quietFor() > 3_000 ? true : undefined));
  console.log(`spec loop: server ${serverUrl}, mock ${mockUrl}; ready in ${Math.round(performance.now() - started)} ms`);

  const targets = {
    server: (summary: string) => bundleHas(`${serverUrl}/openapi/connections.json`, summary),
    mock: (summary: string) => bundleHas(`${mockUrl}/openapi/connections.json`, summary),
    docs: (summary: string) => docsHas(serverUrl, summary),
  };
  const times: Record<keyof typeof targets | 'all', number[]> = { server: [], mock: [], docs: [], all: [] };
  for (let edit = 1; edit <= EDITS; edit++) {
    const summary = `List connections (edit ${edit} of the spec-loop bench, ${Date.now().toString(36)})`;
    writeFileSync(join(root, EDITED_FILE), original.replace(SUMMARY_LINE, `$1${summary}`));
    const saved = performance.now();
    const seen = await Promise.all(
      Object.entries(targets).map(async ([name, read]) => {
        await waitFor(`edit ${edit} on the ${name}`, dev, async () => ((await read(summary)) ? true : undefined), TIMEOUT_MS, POLL_MS);
        return [name, performance.now() - saved] as const;
      }),
    );
    for (const [name, ms] of seen) times[name as keyof typeof targets].push(ms);
    times.all.push(Math.max(...seen.map(([, ms]) => ms)));
    // Where the time went, as far as the processes say it (their lines arrive through pnpm and turbo).
    const said = Object.entries(MILESTONES)
      .map(([name, pattern]) => [name, dev.lineAt(pattern, saved)] as const)
      .filter(([, at]) => at !== undefined)
      .map(([name, at]) => `${name} ${Math.round(at! - saved)} ms`);
    console.log(`edit ${edit}: ${seen.map(([name, ms]) => `${name} ${Math.round(ms)} ms`).join(', ')}${said.length ? `  (said: ${said.join(', ')})` : ''}`);
    // Let what the edit set off after the bundles (types, client build) finish before the next.
    await waitFor(`pnpm dev to settle after edit ${edit}`, dev, async () => (dev.quietFor() > 2_000 ? true : undefined));
  }
  console.log(`\nspec loop over ${EDITS} edits (save -> visible):`);
  for (const [name, values] of Object.entries(times)) console.log(`  ${name.padEnd(6)} ${stats(values)}`);

  // A broken edit: the lint must say so, and the server and the mock keep the last good specs.
  const lastGood = await summaryAt(`${serverUrl}/openapi/connections.json`);
  const before = dev.output().length;
  writeFileSync(join(root, EDITED_FILE), original.replace(SUMMARY_LINE, '  operationId: listConnections\n  summary: ""'));
  await waitFor('the lint error to be printed', dev, async () => (/error|✖/i.test(dev.output().slice(before)) ? true : undefined), 30_000).catch(() => false);
  await sleep(3_000);
  const kept = (await summaryAt(`${serverUrl}/openapi/connections.json`)) === lastGood && (await summaryAt(`${mockUrl}/openapi/connections.json`)) === lastGood;
  console.log(`\nbroken edit (empty summary): ${kept ? 'the server and the mock kept the previous specs' : 'the previous specs were NOT kept'}; pnpm dev printed:`);
  console.log(
    dev
      .output()
      .slice(before)
      .split('\n')
      .filter((l) => l.trim())
      .slice(0, 15)
      .map((l) => `  | ${l}`)
      .join('\n'),
  );
  if (!kept) failed = true;
} catch (error) {
  failed = true;
  console.error(`spec loop: ${(error as Error).message}`);
} finally {
  await dev.stop();
  const log = `${root}.log`;
  writeFileSync(log, dev.output());
  console.log(`spec loop: the output of pnpm dev is in ${log}`);
  if (KEEP) console.log(`spec loop: the copy is left at ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
