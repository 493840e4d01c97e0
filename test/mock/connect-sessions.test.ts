/** The stateful mock's connect sessions (issue 14, decision 0017): create, get, list and cancel
 * remember what they are sent, per API key, with the server's rules that need no database
 * (slots, statuses, cursors, the 404 and 409 problems); every answer is in the spec's shapes. */
import { describe, expect, inject, it } from 'vitest';
import { call, expectProblem } from '../support/http.js';
import { registerSecret } from '../support/secrets.js';
import { specViolations } from '../support/spec-schema.js';

type Json = Record<string, unknown>;
const unique = () => Math.random().toString(36).slice(2, 10);
const RETURN_URL = 'https://app.acme.example/integrations/done';

describe('connect sessions on the mock asked with Prefer: stateful=true', () => {
  const baseUrl = inject('mockUrl');
  const as = (apiKey: string) => (method: string, path: string, body?: unknown) =>
    call(path, { baseUrl, method, apiKey, headers: { Prefer: 'stateful=true', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  async function create(send: ReturnType<typeof as>, body: Json = {}) {
    const created = await send('POST', '/v1/connect-sessions', { slots: [{ provider: 'stripe' }], end_user: { id: 'customer-1' }, return_url: RETURN_URL, ...body });
    expect(created.status, created.text).toBe(201);
    const session = created.json as Json;
    registerSecret(String(session.url).split('/').pop()!, 'a mock connect session token');
    expect(specViolations('createConnectSession', 201, session)).toEqual([]);
    return session;
  }

  it('when a session is created, then it is read back, listed newest first with a cursor, and cancelled once (again: the same answer); its link token is shown on create only', async () => {
    const send = as(`frontend-${unique()}`);
    const first = await create(send, { branding: { name: 'Acme Books', accent_color: '#0b6e4f' } });
    expect(first).toMatchObject({ status: 'pending', connection_ids: [], environment: 'production', branding: { name: 'Acme Books', accent_color: '#0b6e4f' } });
    expect(first.url).toMatch(/\/connect\/cst_[A-Za-z0-9_-]{43}$/);
    expect((Date.parse(String(first.expires_at)) - Date.parse(String(first.created_at))) / 60_000).toBe(30);
    const second = await create(send, { slots: [{ category: 'accounting' }, { category: 'payment_gateway' }], environment: 'test', expires_in_seconds: 600 });

    const got = await send('GET', `/v1/connect-sessions/${first.id}`);
    expect(got.status).toBe(200);
    expect(specViolations('getConnectSession', 200, got.json)).toEqual([]);
    const { url: _url, ...withoutUrl } = first;
    expect(got.json).toEqual(withoutUrl);

    const page1 = await send('GET', '/v1/connect-sessions?limit=1');
    expect(specViolations('listConnectSessions', 200, page1.json)).toEqual([]);
    const p1 = page1.json as { data: Json[]; next_cursor: string };
    expect(p1.data.map((s) => s.id)).toEqual([second.id]);
    const p2 = (await send('GET', `/v1/connect-sessions?limit=1&cursor=${p1.next_cursor}`)).json as { data: Json[]; next_cursor: string | null };
    expect(p2.data.map((s) => s.id)).toEqual([first.id]);
    expect(p2.next_cursor).toBeNull();
    expect(p2.data[0]).not.toHaveProperty('url');

    const cancelled = await send('POST', `/v1/connect-sessions/${first.id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(specViolations('cancelConnectSession', 200, cancelled.json)).toEqual([]);
    expect(cancelled.json).toMatchObject({ status: 'cancelled', cancelled_at: expect.any(String) });
    expect((await send('POST', `/v1/connect-sessions/${first.id}/cancel`)).json).toEqual(cancelled.json);
    expect((await send('GET', `/v1/connect-sessions/${first.id}`)).json).toMatchObject({ status: 'cancelled' });
  });

  it("when another key asks for a session, or for an id no session has, then it is the server's 404; its list is its own", async () => {
    const owner = as(`frontend-${unique()}`);
    const stranger = as(`frontend-${unique()}`);
    const session = await create(owner);
    const problem = expectProblem(await stranger('GET', `/v1/connect-sessions/${session.id}`), 404, 'not_found');
    expect(problem.detail).toBe(`No connect session ${session.id} in this tenant.`);
    expectProblem(await stranger('POST', `/v1/connect-sessions/${session.id}/cancel`), 404, 'not_found');
    expect(((await stranger('GET', '/v1/connect-sessions')).json as { data: unknown[] }).data).toEqual([]);
  });

  it('when slots are not valid, then the create is a 400 naming each, as the server words it; a new tenant gets a tenant id of its own', async () => {
    const send = as(`frontend-${unique()}`);
    const refused = await send('POST', '/v1/connect-sessions', {
      slots: [{}, { provider: 'no-such-provider' }, { category: 'crm', provider: 'hubspot' }, { provider: 'stripe', connection_id: 'conn_01jd5qa0b2c4e6g8j0k2m4n6zz' }],
      end_user: { id: 'u' },
      return_url: RETURN_URL,
    });
    const problem = expectProblem(refused, 400, 'validation_failed');
    expect(problem.errors?.map((e) => e.pointer)).toEqual(['/slots/0', '/slots/1/provider', '/slots/2', '/slots/3/connection_id']);

    const mine = await create(send);
    const onboarded = await create(send, { tenant: { name: 'Kestrel Coffee Ltd' } });
    expect(onboarded.tenant_id).toMatch(/^ten_[0-9a-z]{26}$/);
    expect(onboarded.tenant_id).not.toBe(mine.tenant_id);
  });
});
