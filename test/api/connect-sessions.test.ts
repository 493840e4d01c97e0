/**
 * Connect sessions (issue 14) over HTTP: the API (create, get, list, cancel), the hosted page
 * at the session's one-time link, and its form post, which creates the connection with the
 * session as actor. Token single use (also under two concurrent submits), expiry, cancel,
 * the return_url allow-list, tenant isolation; raw rows hold the token's hash only.
 */
import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createPatchbayClient, isPatchbayError } from '@patchbay/client';
import { registerSecret } from '../support/secrets.js';
import { CONNECT_RETURN_ORIGIN } from '../support/global-setup.js';
import { specViolations } from '../support/spec-schema.js';
import { describeEach, newTenantKey, serverTargets, type Target } from '../support/targets.js';
import { eventsOf, secretValue, stripeSecret, tenant } from './factories.js';

const SCOPES = ['connections:read', 'connections:write', 'credentials:write', 'connect_sessions:write'];
const RETURN_URL = `${CONNECT_RETURN_ORIGIN}/integrations/done`;

type Client = Awaited<ReturnType<typeof tenant>>['client'];

async function createSession(client: Client, body: Record<string, unknown> = {}) {
  const { response, data, error } = await client.POST('/v1/connect-sessions', {
    body: { slots: [{ provider: 'stripe' }], environment: 'test', end_user: { id: 'customer-1', display_name: 'Kestrel Coffee' }, return_url: RETURN_URL, ...body } as never,
  });
  expect(response.status, JSON.stringify(error)).toBe(201);
  registerSecret(new URL(data!.url!).pathname.split('/').pop()!, 'a connect session token');
  return data!;
}

/** The page at a link: its status, headers and HTML, and the form token in it. */
async function openPage(url: string) {
  const response = await fetch(url, { redirect: 'manual' });
  const html = await response.text();
  const formToken = /name="form_token" value="([^"]+)"/.exec(html)?.[1];
  return { response, html, formToken };
}

/** A success page: 200, and the link back to return_url with the ids. */
function returned(done: { response: Response; html: string }): URL {
  expect(done.response.status, done.html).toBe(200);
  expect(done.html).toContain('<h1>Connected</h1>');
  const href = /id="continue" href="([^"]+)"/.exec(done.html)![1]!.replace(/&amp;/g, '&');
  return new URL(href);
}

async function submit(url: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString() });
  return { response, html: await response.text() };
}

describeEach(serverTargets())('connect sessions on the $name', (target: Target) => {
  it('when a session is created, opened and its form posted, then the connection exists with its credentials summary, the session is completed, and the link works once', async () => {
    const { client } = await tenant(target, SCOPES);
    const session = await createSession(client);
    expect(specViolations('createConnectSession', 201, session)).toEqual([]);
    expect(session).toMatchObject({ status: 'pending', connection_ids: [], completed_at: null });
    expect(session.url).toMatch(/\/connect\/cst_[A-Za-z0-9_-]{43}$/);
    const minutes = (Date.parse(session.expires_at) - Date.parse(session.created_at)) / 60_000;
    expect(minutes).toBe(30);
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();

    const page = await openPage(url);
    expect(page.response.status).toBe(200);
    const csp = page.response.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain(`form-action 'self';`);
    expect(csp).not.toContain('img-src');
    expect(page.response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.html).toMatch(/<input type="password" id="s0-c-secret_key" name="s0.c.secret_key" required/);
    expect(page.html).toMatch(/<label for="s0-c-secret_key">Secret key <span class="req"/);
    expect(page.html).toMatch(/<input type="url" id="s0-s-webhook_url"/);
    expect(page.html).not.toMatch(/<script/);
    expect(page.formToken).toBeTruthy();

    // A wrong value: the field's error next to it, nothing stored, the session still pending.
    const wrong = await submit(url, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': 'not-a-key', 's0.s.webhook_url': 'hooks' });
    expect(wrong.response.status).toBe(422);
    expect(wrong.html).toMatch(/id="s0-c-secret_key-error">This does not look like the right value/);
    expect(wrong.html).not.toContain('not-a-key');
    // Said for the person pasting a key: no validator wording, no pattern that describes the secret.
    expect(wrong.html).not.toMatch(/must match pattern|\^sk_/);
    expect(wrong.html).toMatch(/id="s0-s-webhook_url-error">Enter a full web address, starting with https:\/\/\.</);
    expect((await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data).toMatchObject({ status: 'pending', connection_ids: [] });
    const retry = /name="form_token" value="([^"]+)"/.exec(wrong.html)![1]!;

    // The earlier page's form token no longer works (each page view has its own).
    expect((await submit(url, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(403);

    const secret = stripeSecret();
    const done = await submit(url, { form_token: retry, 's0.provider': 'stripe', 's0.c.secret_key': secret, 's0.s.webhook_url': 'https://hooks.acme.test/stripe' });
    const location = returned(done);
    expect(`${location.origin}${location.pathname}`).toBe(RETURN_URL);
    expect(location.searchParams.get('connect_session_id')).toBe(session.id);
    const connectionId = location.searchParams.get('connection_ids')!;
    expect(connectionId).toMatch(/^conn_/);

    const got = await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } });
    expect(specViolations('getConnectSession', 200, got.data)).toEqual([]);
    expect(got.data).toMatchObject({ status: 'completed', connection_ids: [connectionId] });
    expect(got.data).not.toHaveProperty('url');
    const connection = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(connection).toMatchObject({ provider: 'stripe', environment: 'test', status: 'active', settings: { webhook_url: 'https://hooks.acme.test/stripe' } });
    expect(connection.credentials_summary.secret_key).toMatchObject({ set: true });
    const events = await eventsOf(client, connectionId);
    expect(events.map((e) => e.action)).toEqual(['created']);
    expect(events[0]!.actor).toEqual({ type: 'connect_session', id: session.id });

    // Used: the page and the post both refuse, and nothing changes.
    const reopened = await openPage(url);
    expect(reopened.response.status).toBe(410);
    expect(reopened.html).toContain('already been used');
    expect((await submit(url, { form_token: retry, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(410);
    const listed = await client.GET('/v1/connections', { params: { query: { provider: 'stripe' } as never } });
    expect(listed.data!.data.map((c) => c.id)).toEqual([connectionId]);
  });

  it('when a two-slot session (accounting, then a payment provider picked from its category) gets a field error in its second slot, then nothing is stored for the first; corrected, both connections are made in one go, each with its event', async () => {
    const { client } = await tenant(target, SCOPES);
    const session = await createSession(client, { slots: [{ provider: 'quickbooks', settings: { client_id: 'intuit-app-1' } }, { category: 'payment_gateway' }] });
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();

    // The category slot gets its provider picked first: a GET form, listing the steps.
    const picker = await openPage(url);
    expect(picker.response.status).toBe(200);
    expect(picker.html).toMatch(/<select id="pick1" name="pick1" required/);
    expect(picker.html).toContain('<option value="stripe">');
    expect(picker.formToken).toBeUndefined();
    const page = await openPage(`${url}?pick1=stripe`);
    expect(page.html).toContain('Step 1 of 2: QuickBooks Online');
    expect(page.html).toContain('Step 2 of 2: Stripe');
    expect(page.html).toMatch(/id="s0-s-client_id" name="s0.s.client_id" required aria-required="true"[^>]*value="intuit-app-1"/);
    const quickbooks = { 's0.provider': 'quickbooks', 's0.c.client_secret': secretValue('qbs_'), 's0.c.refresh_token': secretValue('qbr_'), 's0.s.client_id': 'intuit-app-1', 's0.s.realm_id': '4620816365' };

    const wrong = await submit(url, { form_token: page.formToken!, ...quickbooks, 's1.provider': 'stripe', 's1.c.secret_key': 'not-a-key' });
    expect(wrong.response.status).toBe(422);
    expect(wrong.html).toMatch(/id="s1-c-secret_key-error">This does not look like the right value/);
    expect(wrong.html).not.toMatch(/id="s0-[^"]*-error"/);
    expect((await client.GET('/v1/connections', {})).data!.data).toEqual([]);
    expect((await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data).toMatchObject({ status: 'pending', connection_ids: [] });

    const retry = /name="form_token" value="([^"]+)"/.exec(wrong.html)![1]!;
    const back = returned(await submit(url, { form_token: retry, ...quickbooks, 's1.provider': 'stripe', 's1.c.secret_key': stripeSecret() }));
    const ids = back.searchParams.get('connection_ids')!.split(',');
    expect(ids).toHaveLength(2);
    const got = (await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data!;
    expect(got).toMatchObject({ status: 'completed', connection_ids: ids });
    const made = await Promise.all(ids.map(async (connectionId) => (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!));
    expect(made.map((c) => [c.provider, c.status])).toEqual([['quickbooks', 'active'], ['stripe', 'active']]);
    expect(made[0]!.settings).toMatchObject({ client_id: 'intuit-app-1', realm_id: '4620816365' });
    for (const connectionId of ids) {
      const events = await eventsOf(client, connectionId);
      expect(events.map((e) => [e.action, e.actor])).toEqual([['created', { type: 'connect_session', id: session.id }]]);
    }
  });

  it('when a session re-authorises an existing connection, then the page shows which fields are set and never a value, and the submit replaces the credentials in place', async () => {
    const { client } = await tenant(target, SCOPES);
    const old = stripeSecret();
    const created = await client.POST('/v1/connections', { body: { provider: 'stripe', environment: 'test', credentials: { secret_key: old } } as never });
    expect(created.response.status).toBe(201);
    const connectionId = created.data!.id;
    const before = created.data!.credentials_summary.secret_key!;
    const session = await createSession(client, { slots: [{ provider: 'stripe', connection_id: connectionId }] });
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();
    const page = await openPage(url);
    expect(page.html).toContain('Re-authorise Stripe');
    expect(page.html).toMatch(/id="s0-c-secret_key-set">Set now/);
    expect(page.html).toMatch(/id="s0-c-webhook_secret-set">Not set now/);
    expect(page.html).not.toContain(old);
    expect(page.html).not.toContain(old.slice(-4));
    expect(page.html).not.toContain('s0.s.');

    const fresh = stripeSecret();
    const back = returned(await submit(url, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': fresh }));
    expect(back.searchParams.get('connection_ids')).toBe(connectionId);
    const after = (await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId } } })).data!;
    expect(after.credentials_summary.secret_key!.fingerprint).not.toBe(before.fingerprint);
    expect(after.status).toBe('active');
    const events = await eventsOf(client, connectionId);
    expect(events.map((e) => [e.action, e.actor.type])).toEqual([['credentials_replaced', 'connect_session'], ['created', 'api_key']]);
    expect((await client.GET('/v1/connections', {})).data!.data).toHaveLength(1);
  });

  it('when a session is branded, then the page shows the name and logo and applies the accent in its nonce\'d style sheet, with a CSP that allows images from the logo\'s origin only; a logo from another host or a colour that is not #rrggbb is a 400 naming the field', async () => {
    const { client } = await tenant(target, SCOPES);
    const bad = async (branding: Record<string, unknown>) => {
      const { response, error } = await client.POST('/v1/connect-sessions', { body: { slots: [{ provider: 'stripe' }], end_user: { id: 'u' }, return_url: RETURN_URL, branding } as never });
      expect(response.status).toBe(400);
      return [...new Set((error as { errors: { pointer: string }[] }).errors.map((e) => e.pointer.replace(/^\/body/, '')))];
    };
    expect(await bad({ logo_url: 'https://cdn.evil.example/logo.png' })).toEqual(['/branding/logo_url']);
    expect(await bad({ accent_color: 'red;}body{display:none' })).toEqual(['/branding/accent_color']);
    expect(await bad({ accent_color: '#12345' })).toEqual(['/branding/accent_color']);

    const branding = { name: 'Acme Books', logo_url: `${CONNECT_RETURN_ORIGIN}/logo.png`, accent_color: '#0b6e4f' };
    const session = await createSession(client, { branding });
    expect(session.branding).toEqual(branding);
    const page = await openPage(new URL(new URL(session.url!).pathname, target.baseUrl).toString());
    const csp = page.response.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^default-src 'none'; style-src 'nonce-[A-Za-z0-9+/=]+'; img-src https:\/\/app\.acme\.test; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/);
    expect(page.html).toContain(`<img src="${CONNECT_RETURN_ORIGIN}/logo.png" alt="Acme Books logo"`);
    expect(page.html).toContain('<p>Acme Books</p>');
    expect(page.html).toContain(':root{--accent:#0b6e4f;--on-accent:#ffffff}');
    expect(page.html).not.toMatch(/style="/);
  });

  it('when two submits race with the same form, then exactly one creates a connection', async () => {
    const { client } = await tenant(target, SCOPES);
    const session = await createSession(client);
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();
    const { formToken } = await openPage(url);
    const results = await Promise.all([0, 1].map(() => submit(url, { form_token: formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })));
    const statuses = results.map((r) => r.response.status).sort();
    expect(statuses).toEqual([200, 410]);
    expect(results.find((r) => r.response.status === 410)!.html).toContain('already been used');
    expect((await client.GET('/v1/connections', {})).data!.data).toHaveLength(1);
  });

  it('when a session is cancelled, then its link shows so and changes nothing; cancelling again answers it, a completed one is a 409', async () => {
    const { client } = await tenant(target, SCOPES);
    const session = await createSession(client);
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();
    const { formToken } = await openPage(url);
    const cancelled = await client.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId: session.id } } });
    expect(cancelled.response.status).toBe(200);
    expect(specViolations('cancelConnectSession', 200, cancelled.data)).toEqual([]);
    expect(cancelled.data).toMatchObject({ status: 'cancelled' });
    expect((await openPage(url)).response.status).toBe(410);
    expect((await submit(url, { form_token: formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(410);
    expect((await client.GET('/v1/connections', {})).data!.data).toHaveLength(0);
    expect((await client.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId: session.id } } })).response.status).toBe(200);

    const other = await createSession(client);
    const otherUrl = new URL(new URL(other.url!).pathname, target.baseUrl).toString();
    const page = await openPage(otherUrl);
    returned(await submit(otherUrl, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() }));
    const refused = await client.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId: other.id } } });
    expect(refused.response.status).toBe(409);
  });

  it('when return_url is not on the allow-list, a slot names no provider or an unknown one, or the lifetime is out of bounds, then the create is a 400', async () => {
    const { client } = await tenant(target, SCOPES);
    const bad = async (body: Record<string, unknown>) => {
      const { response, error } = await client.POST('/v1/connect-sessions', { body: { slots: [{ provider: 'stripe' }], end_user: { id: 'u' }, return_url: RETURN_URL, ...body } as never });
      expect(response.status).toBe(400);
      return (error as { errors: { pointer: string }[] }).errors.map((e) => e.pointer.replace(/^\/body/, ''));
    };
    expect(await bad({ return_url: 'https://evil.example/steal' })).toEqual(['/return_url']);
    expect(await bad({ return_url: 'http://app.acme.test/integrations/done' })).toEqual(['/return_url']);
    expect(await bad({ slots: [{ provider: 'no-such-provider' }] })).toEqual(['/slots/0/provider']);
    expect(await bad({ slots: [{}] })).toEqual(['/slots/0']);
    expect(await bad({ expires_in_seconds: 86_401 })).toEqual(['/expires_in_seconds']);
  });

  it('when another tenant asks for a session, then it is not found, and the list shows only its own, newest first', async () => {
    const owner = await tenant(target, SCOPES);
    const stranger = await tenant(target, SCOPES);
    const first = await createSession(owner.client);
    const second = await createSession(owner.client);
    const path = { params: { path: { sessionId: first.id } } };
    expect((await stranger.client.GET('/v1/connect-sessions/{sessionId}', path)).response.status).toBe(404);
    expect((await stranger.client.POST('/v1/connect-sessions/{sessionId}/cancel', path)).response.status).toBe(404);
    expect((await stranger.client.GET('/v1/connect-sessions', {})).data!.data).toEqual([]);
    const page1 = await owner.client.GET('/v1/connect-sessions', { params: { query: { limit: 1 } } });
    expect(specViolations('listConnectSessions', 200, page1.data)).toEqual([]);
    expect(page1.data!.data.map((s) => s.id)).toEqual([second.id]);
    const page2 = await owner.client.GET('/v1/connect-sessions', { params: { query: { limit: 1, cursor: page1.data!.next_cursor! } } });
    expect(page2.data!.data.map((s) => s.id)).toEqual([first.id]);
    expect(page2.data!.data[0]).not.toHaveProperty('url');
  });

  it('when a platform key with tenants:write asks for a new tenant, then the tenant and its session are made in one call; a tenant key, a platform key without tenants:write, or one naming a tenant too is refused, and a refused body makes no tenant', async () => {
    const admin = target.client();
    const platformKey = async (scopes: string[]) => {
      const made = await admin.POST('/admin/v1/platform-keys', { body: { name: 'onboarding', scopes: scopes as never } });
      expect(made.response.status).toBe(201);
      registerSecret(made.data!.api_key, 'a platform key');
      return target.client({ apiKey: made.data!.api_key });
    };
    const name = `Kestrel Coffee ${Math.random().toString(36).slice(2, 8)}`;
    const body = { tenant: { name }, slots: [{ category: 'accounting' }, { category: 'payment_gateway' }], environment: 'test', end_user: { id: 'customer-4713' }, return_url: RETURN_URL };
    const tenantsNamed = async (n: string) => {
      const all = [];
      let cursor: string | undefined;
      do {
        const page = await admin.GET('/admin/v1/tenants', { params: { query: { limit: 200, ...(cursor ? { cursor } : {}) } } });
        all.push(...page.data!.data);
        cursor = page.data!.next_cursor ?? undefined;
      } while (cursor);
      return all.filter((t) => t.name === n);
    };

    const onboarding = await platformKey(['tenants:write', 'connect_sessions:write', 'connections:read']);
    const refusedBody = await onboarding.POST('/v1/connect-sessions', { body: { ...body, return_url: 'https://evil.example/' } as never });
    expect(refusedBody.response.status).toBe(400);
    expect(await tenantsNamed(name)).toEqual([]);

    const created = await onboarding.POST('/v1/connect-sessions', { body: body as never });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    registerSecret(new URL(created.data!.url!).pathname.split('/').pop()!, 'a connect session token');
    expect(specViolations('createConnectSession', 201, created.data)).toEqual([]);
    const [made] = await tenantsNamed(name);
    expect(created.data!.tenant_id).toBe(made!.id);
    const inTenant = { headers: { 'X-Tenant-Id': made!.id } };
    expect((await onboarding.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: created.data!.id } }, ...inTenant })).data).toMatchObject({ tenant_id: made!.id, status: 'pending' });

    // Without tenants:write, as a tenant key, or with X-Tenant-Id as well: refused, no tenant made.
    const other = `${name} 2`;
    const noTenantsWrite = await (await platformKey(['connect_sessions:write'])).POST('/v1/connect-sessions', { body: { ...body, tenant: { name: other } } as never });
    expect(noTenantsWrite.response.status).toBe(403);
    expect(noTenantsWrite.error).toMatchObject({ required_scopes: ['tenants:write'], errors: [{ pointer: '/tenant' }] });
    const { client: tenantClient } = await tenant(target, SCOPES);
    const asTenant = await tenantClient.POST('/v1/connect-sessions', { body: { ...body, tenant: { name: other } } as never });
    expect(asTenant.response.status).toBe(403);
    const both = await onboarding.POST('/v1/connect-sessions', { body: { ...body, tenant: { name: other } } as never, ...inTenant });
    expect(both.response.status).toBe(400);
    expect((both.error as { errors: { pointer: string }[] }).errors.map((e) => e.pointer)).toEqual(['/tenant']);
    expect(await tenantsNamed(other)).toEqual([]);
  });

  it('when a key lacks connect_sessions:write, then the session operations are a 403', async () => {
    const { client } = await tenant(target, ['connections:read', 'connections:write', 'credentials:write']);
    const { response } = await client.POST('/v1/connect-sessions', { body: { slots: [{ provider: 'stripe' }], end_user: { id: 'u' }, return_url: RETURN_URL } });
    expect(response.status).toBe(403);
    expect((await client.GET('/v1/connect-sessions', {})).response.status).toBe(403);
  });

  it('when the client creates, reads, lists and cancels a session, then its helpers return the resources and throw a PatchbayError for a problem', async () => {
    const key = await newTenantKey(target, SCOPES);
    const client = createPatchbayClient({ baseUrl: target.baseUrl, apiKey: key.apiKey });
    const created = await client.connectSessions.create({ slots: [{ provider: 'stripe' }], end_user: { id: 'customer-9' }, return_url: RETURN_URL, expires_in_seconds: 600 });
    registerSecret(new URL(created.url!).pathname.split('/').pop()!, 'a connect session token');
    expect((Date.parse(created.expires_at) - Date.parse(created.created_at)) / 1000).toBe(600);
    expect(await client.connectSessions.get(created.id)).toMatchObject({ id: created.id, status: 'pending', environment: 'production' });
    expect((await client.connectSessions.list().toArray()).map((s) => s.id)).toEqual([created.id]);
    expect(await client.connectSessions.cancel(created.id)).toMatchObject({ status: 'cancelled' });
    const refused = await client.connectSessions.create({ slots: [{ provider: 'stripe' }], end_user: { id: 'u' }, return_url: 'https://evil.example/' }).catch((error: unknown) => error);
    expect(isPatchbayError(refused) && refused.status).toBe(400);
  });

  it('when a link is not a token, then the page is a 404 that changes nothing', async () => {
    const { response, html } = await openPage(new URL('/connect/cst_' + 'A'.repeat(43), target.baseUrl).toString());
    expect(response.status).toBe(404);
    expect(html).toContain('This link is not valid');
  });
});

const pgTarget = serverTargets().find((t) => t.name.includes('PostgreSQL'))!;
(pgTarget.unavailable ? describe.skip : describe)(`connect session rows on the server on PostgreSQL${pgTarget.unavailable ? ` (SKIPPED: ${pgTarget.unavailable})` : ''}`, () => {
  let db: pg.Client;
  beforeAll(async () => {
    db = new pg.Client({ connectionString: inject('postgresDatabaseUrl')! });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
  });

  it('when a session is stored, then its row holds the token hash only; when it has expired, its link is refused and the API says expired', async () => {
    const { client } = await tenant(pgTarget, SCOPES);
    const session = await createSession(client);
    const token = new URL(session.url!).pathname.split('/').pop()!;
    const { rows } = await db.query('SELECT row_to_json(s)::text AS row, token_hash FROM connect_sessions s WHERE id = $1', [session.id]);
    expect(rows[0].row).not.toContain(token);
    expect(rows[0].row).not.toContain(token.slice(4));
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);

    const url = new URL(new URL(session.url!).pathname, pgTarget.baseUrl).toString();
    const { formToken } = await openPage(url);
    await db.query(`UPDATE connect_sessions SET expires_at = now() - interval '1 second' WHERE id = $1`, [session.id]);
    const page = await openPage(url);
    expect(page.response.status).toBe(410);
    expect(page.html).toContain('expired');
    expect((await submit(url, { form_token: formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(410);
    expect((await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data).toMatchObject({ status: 'expired' });
    expect((await client.GET('/v1/connections', {})).data!.data).toHaveLength(0);
    expect((await client.POST('/v1/connect-sessions/{sessionId}/cancel', { params: { path: { sessionId: session.id } } })).response.status).toBe(409);
  });
});
