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
import { eventsOf, stripeSecret, tenant } from './factories.js';

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
    expect(csp).toContain(`form-action 'self' ${CONNECT_RETURN_ORIGIN}`);
    expect(page.response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page.html).toMatch(/<input type="password" id="s0-c-secret_key" name="s0.c.secret_key" required/);
    expect(page.html).toMatch(/<label for="s0-c-secret_key">Secret key <span class="req"/);
    expect(page.html).toMatch(/<input type="url" id="s0-s-webhook_url"/);
    expect(page.html).not.toMatch(/<script/);
    expect(page.formToken).toBeTruthy();

    // A wrong value: the field's error next to it, nothing stored, the session still pending.
    const wrong = await submit(url, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': 'not-a-key' });
    expect(wrong.response.status).toBe(422);
    expect(wrong.html).toMatch(/id="s0-c-secret_key-error">must match pattern/);
    expect(wrong.html).not.toContain('not-a-key');
    expect((await client.GET('/v1/connect-sessions/{sessionId}', { params: { path: { sessionId: session.id } } })).data).toMatchObject({ status: 'pending', connection_ids: [] });
    const retry = /name="form_token" value="([^"]+)"/.exec(wrong.html)![1]!;

    // The earlier page's form token no longer works (each page view has its own).
    expect((await submit(url, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(403);

    const secret = stripeSecret();
    const done = await submit(url, { form_token: retry, 's0.provider': 'stripe', 's0.c.secret_key': secret, 's0.s.webhook_url': 'https://hooks.acme.test/stripe' });
    expect(done.response.status).toBe(303);
    const location = new URL(done.response.headers.get('location')!);
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

  it('when two submits race with the same form, then exactly one creates a connection', async () => {
    const { client } = await tenant(target, SCOPES);
    const session = await createSession(client);
    const url = new URL(new URL(session.url!).pathname, target.baseUrl).toString();
    const { formToken } = await openPage(url);
    const results = await Promise.all([0, 1].map(() => submit(url, { form_token: formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })));
    const statuses = results.map((r) => r.response.status).sort();
    expect(statuses.filter((s) => s === 303)).toHaveLength(1);
    expect([409, 410]).toContain(statuses.find((s) => s !== 303));
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
    expect((await submit(otherUrl, { form_token: page.formToken!, 's0.provider': 'stripe', 's0.c.secret_key': stripeSecret() })).response.status).toBe(303);
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
