/** A real headless browser for the suites that need one: Debian's `chromium`, driven by
 * playwright-core (which downloads no browser of its own). Missing chromium fails the run
 * under CI and skips the browser suites elsewhere, with a message that says how to install it
 * (see docs/decisions/0009-browser-test-of-the-reference.md). */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

/** Where chromium is looked for: CHROMIUM_PATH when set, else Debian's and Ubuntu's binaries. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

const CHROMIUM_INSTALL = 'apt-get install -y chromium';
const HOW_TO_INSTALL = `install Debian's chromium with \`${CHROMIUM_INSTALL}\` (as root; .ci/run does it), or set CHROMIUM_PATH to a chromium binary`;

/** Set by CI systems; `CI=false` or `CI=0` means a developer machine. */
export const underCi = !!process.env.CI && !['false', '0'].includes(process.env.CI.toLowerCase());

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The chromium binary to drive: CHROMIUM_PATH when set, else the first of CANDIDATES; or
 * why there is none. */
export function findChromium(): { path: string } | { missing: string } {
  const wanted = process.env.CHROMIUM_PATH;
  if (wanted) return executable(wanted) ? { path: wanted } : { missing: `CHROMIUM_PATH=${wanted} is not an executable file` };
  const found = CANDIDATES.find(executable);
  return found ? { path: found } : { missing: `there is no chromium at ${CANDIDATES.join(' or ')}` };
}

/** Why the browser suites are skipped on this machine, or null when they run. Under CI a
 * missing chromium is never a skip: launchChromium() then fails, saying how to install it. */
export function browserSkipReason(): string | null {
  const chromiumFound = findChromium();
  return 'missing' in chromiumFound && !underCi ? `SKIPPED (not under CI): ${chromiumFound.missing}; to run the browser tests, ${HOW_TO_INSTALL}.` : null;
}

// Headless on a closed network: without the background-networking flags chromium tries to
// reach Google's services at start and can hang; QUIC and the GPU are of no use here.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts chromium (a fresh temporary profile each time; playwright removes it on close). */
export async function launchChromium(): Promise<Browser> {
  const chromiumFound = findChromium();
  if ('missing' in chromiumFound) {
    throw new Error(`The browser tests need chromium, and ${chromiumFound.missing}: ${HOW_TO_INSTALL}. (Under CI, CI=${process.env.CI}, a missing browser fails the run instead of skipping it.)`);
  }
  return chromium.launch({ executablePath: chromiumFound.path, args: ARGS, timeout: 30_000 });
}

/** What a page did that it should not have: console errors, uncaught exceptions, requests
 * to any host other than `allowedHost`, and requests that failed or got an error status. */
export interface PageOffences {
  consoleErrors: string[];
  pageErrors: string[];
  foreignRequests: string[];
  failedRequests: string[];
}

/** Records every offence of the pages of a context from now on (call before navigating). */
export function recordOffences(context: BrowserContext, allowedHost: string): PageOffences {
  const offences: PageOffences = { consoleErrors: [], pageErrors: [], foreignRequests: [], failedRequests: [] };
  const isLocal = (url: string) => {
    const parsed = new URL(url);
    if (parsed.protocol === 'data:') return true;
    // blob:http://127.0.0.1:PORT/uuid: an object URL the page made itself.
    const target = parsed.protocol === 'blob:' ? new URL(parsed.pathname) : parsed;
    return target.host === allowedHost;
  };
  context.on('console', (message) => {
    if (message.type() === 'error') offences.consoleErrors.push(`${message.text()} (${message.location().url || 'inline'})`);
  });
  context.on('weberror', (error) => offences.pageErrors.push(error.error().message));
  context.on('request', (request) => {
    if (!isLocal(request.url())) offences.foreignRequests.push(`${request.method()} ${request.url()}`);
  });
  context.on('requestfailed', (request) => offences.failedRequests.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
  context.on('response', (response) => {
    if (response.status() >= 400) offences.failedRequests.push(`${response.request().method()} ${response.url()}: ${response.status()}`);
  });
  return offences;
}
