/**
 * The hosted connect page (issue 14) in Debian's Chromium, headless, driven by playwright-core:
 * open a session's link, enter a wrong value (the server's error shows next to its field),
 * correct it, submit, land on return_url; a payment gateway and the bank virtual POS with its
 * many settings. No console error (a CSP violation is one), no request to another host; the
 * 303 to return_url is checked and answered by the test (the tenant's site is not reachable). Screenshots of each page go to
 * the run's log directory (PATCHBAY_TEST_RUN_DIR) as artifacts.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { secretValue, stripeSecret, tenant } from '../api/factories.js';
import { browserSkipReason, launchChromium, recordOffences } from '../support/browser.js';
import { CONNECT_RETURN_ORIGIN } from '../support/global-setup.js';
import { logDir } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';
import { makeTarget } from '../support/targets.js';

const RETURN_URL = `${CONNECT_RETURN_ORIGIN}/integrations/done`;
const skipReason = browserSkipReason();
if (skipReason) console.warn(`\n  ${skipReason}\n`);

async function shoot(page: Page, name: string): Promise<void> {
  const dir = logDir();
  if (dir) await page.screenshot({ path: join(dir, `connect-${name}.png`), fullPage: true });
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

  async function linkFor(slots: unknown[]) {
    const { client } = await tenant(target, ['connections:read', 'connections:write', 'credentials:write', 'connect_sessions:write']);
    const { data, response } = await client.POST('/v1/connect-sessions', { body: { slots, environment: 'test', end_user: { id: 'customer-7', display_name: 'Kestrel Coffee' }, return_url: RETURN_URL } as never });
    expect(response.status).toBe(201);
    registerSecret(new URL(data!.url!).pathname.split('/').pop()!, 'a connect session token');
    return { client, session: data!, url: new URL(new URL(data!.url!).pathname, serverUrl).toString() };
  }

  /** A context whose form posts go to the server as sent; a 303 to return_url is recorded and
   * answered here (the tenant's site is not reachable, and a redirect is not routed). */
  async function openContext() {
    const context = await browser!.newContext();
    const offences = recordOffences(context, new URL(serverUrl).host);
    let returned: string | undefined;
    await context.route(`${serverUrl}/connect/**`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const response = await route.fetch({ maxRedirects: 0 });
      if (response.status() !== 303) return route.fulfill({ response });
      returned = response.headers()['location'];
      return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Back at the tenant</title><h1>Back at the tenant</h1>' });
    });
    return { context, offences, returned: () => returned };
  }

  it('when an end user enters a Stripe key, first a wrong one, then a right one, then the error shows by its field, and the connection is made and the browser lands on return_url', async () => {
    const { client, session, url } = await linkFor([{ provider: 'stripe' }]);
    const { context, offences, returned } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await shoot(page, 'stripe-form');
    await expect(page.getByLabel('Secret key').getAttribute('type')).resolves.toBe('password');
    await page.getByLabel('Secret key').fill('not-a-key');
    await Promise.all([page.waitForURL(url), page.getByRole('button', { name: 'Connect' }).click()]);
    await expect(page.locator('#s0-c-secret_key-error').textContent()).resolves.toMatch(/must match pattern/);
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/Nothing was saved/);
    await shoot(page, 'stripe-field-error');
    const secret = stripeSecret();
    await page.getByLabel('Secret key').fill(secret);
    await page.getByLabel('Webhook url').fill('https://hooks.acme.test/stripe');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Connect' }).click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Back at the tenant');
    expect(returned()).toMatch(new RegExp(`^${RETURN_URL}\\?`));
    const back = new URL(returned()!);
    expect(back.searchParams.get('connect_session_id')).toBe(session.id);
    const connectionId = back.searchParams.get('connection_ids')!;
    const connection = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(connection).toMatchObject({ provider: 'stripe', status: 'active' });
    expect(connection.credentials_summary.secret_key).toMatchObject({ set: true });

    // The used link, opened again, says so.
    await page.goto(url);
    await expect(page.locator('h1').textContent()).resolves.toBe('This link has already been used');
    await shoot(page, 'used-link');
    // The refused submission (422) and the used link (410) are logged by chromium as failed loads; nothing else.
    expect(offences.consoleErrors.filter((e) => !/status of 4(22|10)/.test(e))).toEqual([]);
    expect(offences.pageErrors).toEqual([]);
    expect(offences.foreignRequests).toEqual([]);
    await context.close();
  });

  it('when an end user fills the bank virtual POS form (its many settings, some required), then the connection is made with those settings', async () => {
    const { client, url } = await linkFor([{ provider: 'payven-vpos' }]);
    const { context, offences, returned } = await openContext();
    const page = await context.newPage();
    await page.goto(url);
    await shoot(page, 'payven-vpos-form');
    const provider = (await client.GET('/v1/providers/{slug}', { params: { path: { slug: 'payven-vpos' } } })).data!;
    const credentials = provider.credentials_schema as { required?: string[]; properties: Record<string, { type?: string }> };
    for (const name of credentials.required ?? []) await page.locator(`[name="s0.c.${name}"]`).fill(secretValue('pv_', 16));
    await page.locator('[name="s0.s.terminal_id"]').fill('T100200');
    await page.locator('[name="s0.s.store_id"]').fill('S300400');
    await page.locator('[name="s0.s.bank_code"]').fill('0062');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Connect' }).click()]);
    await expect(page.locator('h1').textContent()).resolves.toBe('Back at the tenant');
    expect(returned()).toMatch(new RegExp(`^${RETURN_URL}\\?`));
    const connectionId = new URL(returned()!).searchParams.get('connection_ids')!;
    const connection = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(connection).toMatchObject({ provider: 'payven-vpos', settings: { terminal_id: 'T100200', store_id: 'S300400', bank_code: '0062' } });
    expect(offences.consoleErrors).toEqual([]);
    expect(offences.pageErrors).toEqual([]);
    expect(offences.foreignRequests).toEqual([]);
    await context.close();
  });
});
