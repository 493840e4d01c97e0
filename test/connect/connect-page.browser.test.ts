/**
 * The hosted connect page (issue 14) in Debian's Chromium, headless, driven by playwright-core:
 * open a session's link, enter a wrong value (the server's error shows next to its field),
 * correct it, submit, see the success page and follow it back to return_url; a payment gateway
 * and the bank virtual POS with its many settings; a two-slot session (accounting, then a
 * payment provider picked from its category) completed as one; re-authorising a connection in
 * place; a used, a cancelled and an expired link. axe-core runs on every page state (serious
 * or critical violations fail; the others are printed). No console error (a CSP violation is
 * one), no request to another host but the tenant's allow-listed logo and return_url, which
 * the test answers (the tenant's site is not reachable). A screenshot of every page state is
 * kept in test/.reports/screenshots/ (beside the JUnit report, which the run keeps).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { secretValue, stripeSecret, tenant } from '../api/factories.js';
import { browserSkipReason, launchChromium, recordOffences } from '../support/browser.js';
import { CONNECT_RETURN_ORIGIN } from '../support/global-setup.js';
import { registerSecret } from '../support/secrets.js';
import { makeTarget, serverTargets, type Target } from '../support/targets.js';

const RETURN_URL = `${CONNECT_RETURN_ORIGIN}/integrations/done`;
const LOGO_URL = `${CONNECT_RETURN_ORIGIN}/logo.png`;
const SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'connect_sessions:write'];
const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), '..', '.reports', 'screenshots');
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// A 2x2 PNG, the tenant's "logo" (answered by the test: the tenant's site is not reachable).
const LOGO_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR4nGPgzvMHIgYIBQAU3gMhyntjnAAAAABJRU5ErkJggg==', 'base64');

const skipReason = browserSkipReason();
if (skipReason) console.warn(`\n  ${skipReason}\n`);

/** Keeps a screenshot of the page as it is now: connect-<name>.png. */
async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `connect-${name}.png`), fullPage: true });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[] }[];
}

/**
 * axe-core on the page as it is now. The page's CSP allows no script, so axe is not added as a
 * <script> (addScriptTag would be refused, and rightly); playwright's evaluate runs it through
 * the DevTools protocol, which the page's CSP does not govern. Serious and critical violations
 * fail the test; the others are printed.
 */
async function checkAccessibility(page: Page, state: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const { violations, passed } = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: AxeViolation[]; passes: unknown[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return { passed: result.passes.length, violations: result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })) };
  });
  // axe ran its rules on this page (a page it could not check would pass none).
  expect(passed, `axe on ${state}`).toBeGreaterThan(5);
  const minor = violations.filter((v) => v.impact !== 'serious' && v.impact !== 'critical');
  if (minor.length) console.log(`axe on ${state}: ${minor.map((v) => `${v.impact} ${v.id} (${v.help}) at ${JSON.stringify(v.nodes.map((n) => n.target))}`).join('; ')}`);
  expect(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), `axe on ${state}`).toEqual([]);
}

/** A page state: axe on it, and its screenshot. */
async function look(page: Page, state: string): Promise<void> {
  await checkAccessibility(page, state);
  await shoot(page, state);
}

describe.skipIf(skipReason !== null)(skipReason ?? 'the connect page in a real browser', () => {
  let browser: Browser | undefined;
  const serverUrl = inject('serverUrl');
  const target = makeTarget('server on PGlite', 'server', serverUrl);

  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function linkFor(slots: unknown[], on: Target = target, extra: Record<string, unknown> = {}) {
    const { client } = await tenant(on, SCOPES);
    return { client, ...(await sessionFor(client, slots, on, extra)) };
  }

  async function sessionFor(client: Awaited<ReturnType<typeof tenant>>['client'], slots: unknown[], on: Target = target, extra: Record<string, unknown> = {}) {
    const { data, response, error } = await client.POST('/v1/connect-sessions', {
      body: { slots, environment: 'test', end_user: { id: 'customer-7', display_name: 'Kestrel Coffee' }, return_url: RETURN_URL, ...extra } as never,
    });
    expect(response.status, JSON.stringify(error)).toBe(201);
    registerSecret(new URL(data!.url!).pathname.split('/').pop()!, 'a connect session token');
    return { session: data!, url: new URL(new URL(data!.url!).pathname, on.baseUrl).toString() };
  }

  /** A context that records offences; the tenant's site (its logo, return_url) is answered here. */
  async function openContext(on: Target = target) {
    const context = await browser!.newContext();
    const offences = recordOffences(context, new URL(on.baseUrl).host);
    const tenantSite: string[] = [];
    await context.route(`${CONNECT_RETURN_ORIGIN}/**`, async (route) => {
      tenantSite.push(route.request().url());
      if (route.request().url() === LOGO_URL) return route.fulfill({ status: 200, contentType: 'image/png', body: LOGO_PNG });
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><html lang="en"><title>Back at the tenant</title><h1>Back at the tenant</h1></html>' });
    });
    /** Requests to other hosts than the server, beyond the tenant's logo and return_url. */
    const foreign = () => offences.foreignRequests.filter((r) => r !== `GET ${LOGO_URL}` && !r.startsWith(`GET ${RETURN_URL}?`));
    return { context, offences, tenantSite, foreign };
  }

  /** Submits the form and waits for the page that answers it. */
  async function connect(page: Page): Promise<void> {
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Connect' }).click()]);
  }

  /** On the success page: follows its link back to return_url; the ids it carried. */
  async function backToTenant(page: Page): Promise<URL> {
    await expect(page.locator('h1').textContent()).resolves.toBe('Connected');
    await Promise.all([page.waitForURL(/^https:\/\/app\.acme\.test\//), page.getByRole('link', { name: /^Continue to / }).click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Back at the tenant');
    return new URL(page.url());
  }

  it('when an end user enters a Stripe key, first a wrong one, then a right one, then the error shows by its field, the connection is made, the success page leads back to return_url, and the used link says so', async () => {
    const { client, session, url } = await linkFor([{ provider: 'stripe' }]);
    const { context, offences, foreign } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await look(page, 'stripe-form');
    await expect(page.getByLabel('Secret key').getAttribute('type')).resolves.toBe('password');
    await page.getByLabel('Secret key').fill('not-a-key');
    await connect(page);
    await expect(page.locator('#s0-c-secret_key-error').textContent()).resolves.toMatch(/^This does not look like the right value: check that you copied all of it/);
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/Nothing was saved/);
    await expect(page.getByLabel('Secret key').getAttribute('aria-describedby')).resolves.toContain('s0-c-secret_key-error');
    await look(page, 'stripe-field-error');
    await page.getByLabel('Secret key').fill(stripeSecret());
    await page.getByLabel('Webhook url').fill('https://hooks.acme.test/stripe');
    await connect(page);
    await look(page, 'stripe-success');
    const back = await backToTenant(page);
    expect(`${back.origin}${back.pathname}`).toBe(RETURN_URL);
    expect(back.searchParams.get('connect_session_id')).toBe(session.id);
    const connectionId = back.searchParams.get('connection_ids')!;
    const connection = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(connection).toMatchObject({ provider: 'stripe', status: 'active' });
    expect(connection.credentials_summary.secret_key).toMatchObject({ set: true });

    // The used link, opened again, says so.
    await page.goto(url);
    await expect(page.locator('h1').textContent()).resolves.toBe('This link has already been used');
    await look(page, 'used-link');
    // The refused submission (422) and the used link (410) are logged by chromium as failed loads; nothing else.
    expect(offences.consoleErrors.filter((e) => !/status of 4(22|10)/.test(e))).toEqual([]);
    expect(offences.pageErrors).toEqual([]);
    expect(foreign()).toEqual([]);
    await context.close();
  });

  it('when an end user fills the bank virtual POS form (its many settings, some required), then the connection is made with those settings', async () => {
    const { client, url } = await linkFor([{ provider: 'payven-vpos' }]);
    const { context, offences, foreign } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await look(page, 'payven-vpos-form');
    const provider = (await client.GET('/v1/providers/{slug}', { params: { path: { slug: 'payven-vpos' } } })).data!;
    const credentials = provider.credentials_schema as { required?: string[]; properties: Record<string, { type?: string }> };
    for (const name of credentials.required ?? []) await page.locator(`[name="s0.c.${name}"]`).fill(secretValue('pv_', 16));
    await page.locator('[name="s0.s.terminal_id"]').fill('T100200');
    await page.locator('[name="s0.s.store_id"]').fill('S300400');
    await page.locator('[name="s0.s.bank_code"]').fill('0062');
    await connect(page);
    const connectionId = (await backToTenant(page)).searchParams.get('connection_ids')!;
    const connection = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(connection).toMatchObject({ provider: 'payven-vpos', settings: { terminal_id: 'T100200', store_id: 'S300400', bank_code: '0062' } });
    expect(offences.consoleErrors).toEqual([]);
    expect(offences.pageErrors).toEqual([]);
    expect(foreign()).toEqual([]);
    await context.close();
  });

  it('when a branded two-slot session (accounting, then a payment provider picked from its category) is completed, then both connections are made at once, and the logo is the only thing loaded from the tenant', async () => {
    const branding = { name: 'Acme Books', logo_url: LOGO_URL, accent_color: '#0b6e4f' };
    const { client, session, url } = await linkFor([{ provider: 'quickbooks', settings: { client_id: 'intuit-app-1' } }, { category: 'payment_gateway' }], target, { branding });
    const { context, offences, tenantSite, foreign } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.getByRole('img', { name: 'Acme Books logo' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).resolves.toBe(2);
    await look(page, 'category-picker');
    await page.getByLabel('Provider').selectOption('stripe');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Continue' }).click()]);
    await expect(page.locator('legend').allTextContents()).resolves.toEqual(['Step 1 of 2: QuickBooks Online', 'Step 2 of 2: Stripe']);
    await expect(page.locator('[name="s0.s.client_id"]').inputValue()).resolves.toBe('intuit-app-1');
    await look(page, 'second-step');
    await page.locator('[name="s0.c.client_secret"]').fill(secretValue('qbs_'));
    await page.locator('[name="s0.c.refresh_token"]').fill(secretValue('qbr_'));
    await page.locator('[name="s0.s.realm_id"]').fill('4620816365');
    await page.locator('[name="s1.c.secret_key"]').fill(stripeSecret());
    await connect(page);
    await expect(page.getByRole('status').textContent()).resolves.toContain('QuickBooks Online and Stripe are connected');
    await look(page, 'two-slots-success');
    const ids = (await backToTenant(page)).searchParams.get('connection_ids')!.split(',');
    const got = (await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data!;
    expect(got).toMatchObject({ status: 'completed', connection_ids: ids });
    const made = await Promise.all(ids.map(async (connectionId) => (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!));
    expect(made.map((c) => [c.provider, c.status])).toEqual([['quickbooks', 'active'], ['stripe', 'active']]);
    expect(tenantSite.filter((u) => u === LOGO_URL).length).toBeGreaterThan(0);
    expect(offences.consoleErrors).toEqual([]);
    expect(offences.pageErrors).toEqual([]);
    expect(foreign()).toEqual([]);
    await context.close();
  });

  it('when a session re-authorises a connection, then the page shows which fields are set and no value, and afterwards the credentials summary has changed', async () => {
    const { client } = await tenant(target, SCOPES);
    const old = stripeSecret();
    const created = await client.POST('/v1/connections', { body: { provider: 'stripe', environment: 'test', credentials: { secret_key: old } } as never });
    const connectionId = created.data!.id;
    const before = created.data!.credentials_summary.secret_key!;
    const { url } = await sessionFor(client, [{ provider: 'stripe', connection_id: connectionId }]);
    const { context, offences, foreign } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.locator('legend').textContent()).resolves.toBe('Re-authorise Stripe');
    await expect(page.locator('#s0-c-secret_key-set').textContent()).resolves.toMatch(/^Set now/);
    await expect(page.content()).resolves.not.toContain(old.slice(-4));
    await look(page, 'reauthorise-form');
    await page.getByLabel('Secret key').fill(stripeSecret());
    await connect(page);
    expect((await backToTenant(page)).searchParams.get('connection_ids')).toBe(connectionId);
    const after = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(after.credentials_summary.secret_key!.fingerprint).not.toBe(before.fingerprint);
    expect(after.credentials_summary.secret_key!.updated_at).not.toBe(before.updated_at);
    expect(offences.consoleErrors).toEqual([]);
    expect(foreign()).toEqual([]);
    await context.close();
  });

  it('when a link was cancelled, then its page says so and offers no form', async () => {
    const { client, session, url } = await linkFor([{ provider: 'stripe' }]);
    await client.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId: session.id } } });
    const { context, offences } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.locator('h1').textContent()).resolves.toBe('This link was cancelled');
    await expect(page.locator('form').count()).resolves.toBe(0);
    await look(page, 'cancelled-link');
    expect(offences.consoleErrors.filter((e) => !/status of 410/.test(e))).toEqual([]);
    await context.close();
  });

  const pgTarget = serverTargets().find((t) => t.name.includes('PostgreSQL'))!;
  it.skipIf(pgTarget.unavailable !== undefined)(`when a link has expired, then its page says so and offers no form${pgTarget.unavailable ? ` (SKIPPED: ${pgTarget.unavailable})` : ''}`, async () => {
    const { url, session } = await linkFor([{ provider: 'stripe' }], pgTarget);
    const db = new pg.Client({ connectionString: inject('postgresDatabaseUrl')! });
    await db.connect();
    try {
      await db.query(`UPDATE connect_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);
    } finally {
      await db.end();
    }
    const { context, offences } = await openContext(pgTarget);
    const page = await context.newPage();
    await page.goto(url);
    await expect(page.locator('h1').textContent()).resolves.toBe('This link has expired');
    await expect(page.locator('form').count()).resolves.toBe(0);
    await look(page, 'expired-link');
    expect(offences.consoleErrors.filter((e) => !/status of 410/.test(e))).toEqual([]);
    await context.close();
  });
});
