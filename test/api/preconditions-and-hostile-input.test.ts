/** Conditional writes by RFC 9110 13.1 (strong comparison, any tag that does not match is a
 * 412, `*` only for an existing resource, If-None-Match: * for create-only upserts), and
 * input that cannot hurt: prototype members, deep nesting, a worker's error text quoting a
 * secret. */
import { describe, expect, it } from 'vitest';
import { registerSecret } from '../support/secrets.js';
import { serverTargets } from '../support/targets.js';
import { createConnection, eventsOf, stripeSecret, tenant, uniqueRef } from './factories.js';

describe.each(serverTargets())('preconditions and hostile input on the $name', (target) => {
  describe('If-Match', () => {
    it.for([
      ['a tag this API never sent', '"anything-else"'],
      ['a weak tag of the current version (writes compare strongly)', 'W/"1"'],
      ['a list without the current version', '"7", "8"'],
    ])('when it is %s, then a PATCH is a 412 and nothing changes', async ([, header]) => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const answer = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id }, header: { 'If-Match': header } as never }, body: { name: 'changed' } });
      expect(answer.response.status).toBe(412);
      expect(answer.error).toMatchObject({ code: 'version_mismatch', current_version: 1 });
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(after.data).toEqual(c);
    });

    it.for([
      ['the current version', '"1"'],
      ['a list that holds the current version', '"9", "1"'],
      ['* for a connection that exists', '*'],
    ])('when it is %s, then the write goes through', async ([, header]) => {
      const { client } = await tenant(target);
      const c = await createConnection(client);
      const answer = await client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id }, header: { 'If-Match': header } as never }, body: { name: 'changed' } });
      expect(answer.response.status).toBe(200);
      expect(answer.data!.version).toBe(2);
    });

    it('when an upsert sends If-Match: * for a reference that does not exist, then a 412 and nothing is created', async () => {
      const { client } = await tenant(target);
      const reference = uniqueRef();
      const answer = await client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'stripe', reference }, header: { 'If-Match': '*' } as never }, body: {} as never });
      expect(answer.response.status).toBe(412);
      expect(answer.error).toMatchObject({ code: 'version_mismatch', current_version: null });
      const listed = await client.GET('/v1/connections', { params: { query: { q: reference } } });
      expect(listed.data!.data).toEqual([]);
    });
  });

  describe('If-None-Match on an upsert', () => {
    it('when it is *, then the first upsert creates and the second is a 412 that changes nothing', async () => {
      const { client } = await tenant(target);
      const reference = uniqueRef();
      const upsert = (name: string) =>
        client.PUT('/v1/providers/{slug}/connections/{reference}', { params: { path: { slug: 'stripe', reference }, header: { 'If-None-Match': '*' } as never }, body: { name } as never });
      const first = await upsert('first');
      expect(first.response.status).toBe(201);
      const second = await upsert('second');
      expect(second.response.status).toBe(412);
      expect(second.error).toMatchObject({ code: 'version_mismatch', current_version: 1 });
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: first.data!.id } } });
      expect(after.data).toMatchObject({ name: 'first', version: 1 });
    });
  });

  describe('hostile bodies', () => {
    const send = (method: string, path: string, apiKey: string, body: string, contentType = 'application/json') =>
      fetch(new URL(path, target.baseUrl), { method, headers: { 'X-Api-Key': apiKey, 'Content-Type': contentType }, body });

    it.for([
      ['__proto__ inside settings, through a merge patch', '{"settings":{"__proto__":{"base_url":"https://attacker.example.net"}}}', '/settings/__proto__'],
      ['constructor at the top', '{"constructor":{"prototype":{"enabled":false}}}', '/constructor'],
      ['prototype inside metadata', '{"metadata":{"prototype":"x"}}', '/metadata/prototype'],
    ] as const)('when a PATCH carries %s, then a 400 names the member and nothing changes', async ([, body, pointer]) => {
      const { client, apiKey } = await tenant(target);
      const c = await createConnection(client);
      const answer = await send('PATCH', `/v1/connections/${c.id}`, apiKey, body, 'application/merge-patch+json');
      expect(answer.status).toBe(400);
      const problem = await answer.json();
      expect(problem).toMatchObject({ code: 'validation_failed', errors: [{ pointer, message: 'is not an allowed member name' }] });
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(after.data).toEqual(c);
      expect(await eventsOf(client, c.id)).toHaveLength(1);
    });

    it('when a body nests deeper than 32 levels, then a 400 names where, without a 500', async () => {
      const { apiKey } = await tenant(target);
      let nested = '"x"';
      for (let i = 0; i < 40; i++) nested = `{"a":${nested}}`;
      const answer = await send('POST', '/v1/connections', apiKey, `{"provider":"stripe","settings":${nested}}`);
      expect(answer.status).toBe(400);
      const problem = await answer.json();
      expect(problem.errors).toEqual([{ pointer: `/settings${'/a'.repeat(31)}`, message: 'nests deeper than 32 levels' }]);
    });

    // PostgreSQL stores U+0000 in neither text nor jsonb: without this check the write fails
    // inside its transaction as a 500 (found by the fuzz suite on a reference of "\u0000").
    it.for([
      ['a reference', (ref: string) => ({ provider: 'stripe', reference: `${ref}\u0000`, credentials: { secret_key: stripeSecret() } }), '/reference'],
      ['a credential', (ref: string) => ({ provider: 'stripe', reference: ref, credentials: { secret_key: `${stripeSecret()}\u0000` } }), '/credentials/secret_key'],
      ['a metadata member name', (ref: string) => ({ provider: 'stripe', reference: ref, credentials: { secret_key: stripeSecret() }, metadata: { 'a\u0000b': 'x' } }), '/metadata/a\u0000b'],
    ] as const)('when %s holds a NUL character, then a 400 names the member and nothing is stored', async ([, body, pointer]) => {
      const { client, apiKey } = await tenant(target);
      const reference = uniqueRef();
      const answer = await send('POST', '/v1/connections', apiKey, JSON.stringify(body(reference)));
      expect(answer.status).toBe(400);
      const problem = await answer.json();
      expect(problem.errors[0]).toMatchObject({ pointer: expect.stringContaining(pointer.split('\u0000')[0]!) });
      expect(problem.errors[0].message).toMatch(/NUL character \(U\+0000\)/);
      expect(JSON.stringify(problem)).not.toContain('sk_test_');
      const listed = await client.GET('/v1/connections', { params: { query: { q: reference } } });
      expect(listed.data!.data).toEqual([]);
    });

    it('when a query value holds a NUL character, then a 400 points at the parameter instead of reaching SQL', async () => {
      const { apiKey } = await tenant(target);
      for (const query of ['q=%00', 'linked_object_type=a%00b']) {
        const answer = await fetch(new URL(`/v1/connections?${query}`, target.baseUrl), { headers: { 'X-Api-Key': apiKey } });
        expect(answer.status, query).toBe(400);
        const problem = await answer.json();
        expect(problem.errors, query).toEqual([{ pointer: `/query/${query.split('=')[0]}`, message: 'must not contain the NUL character (U+0000)' }]);
      }
    });

    // The header is read by authentication, and counted per tenant, before the validators run:
    // a 300-character value once reached the rate-limit table's 255-character key as a 503.
    it.for([
      ['300 characters', `ten_${'x'.repeat(296)}`],
      ['a near miss of the id shape', 'ten_01JD5QA0B2C4E6G8J0K2M4N6P8'],
    ] as const)('when a platform key sends an X-Tenant-Id of %s, then a 400 names the header, and the key still works', async ([, header]) => {
      const made = await target.client().POST('/admin/v1/platform-keys', { body: { name: 'hostile tenant header', scopes: ['connections:read'] } });
      expect(made.response.status).toBe(201);
      const apiKey = registerSecret(made.data!.api_key, 'a platform key');
      const answer = await fetch(new URL('/v1/connections', target.baseUrl), { headers: { 'X-Api-Key': apiKey, 'X-Tenant-Id': header } });
      expect(answer.status).toBe(400);
      const { errors } = (await answer.json()) as { errors: { pointer: string }[] };
      expect(errors.length).toBeGreaterThan(0);
      expect(errors.map((e) => e.pointer)).toEqual(errors.map(() => '/header/x-tenant-id'));
      const { tenantId } = await tenant(target);
      const fine = await fetch(new URL('/v1/connections', target.baseUrl), { headers: { 'X-Api-Key': apiKey, 'X-Tenant-Id': tenantId } });
      expect(fine.status).toBe(200);
    });

    it("when an upsert's reference in the path holds a NUL character, then a 400 names the path and nothing is created", async () => {
      const { client, apiKey } = await tenant(target);
      const reference = uniqueRef();
      const answer = await send('PUT', `/v1/providers/stripe/connections/${reference}%00`, apiKey, JSON.stringify({ credentials: { secret_key: stripeSecret() } }));
      expect(answer.status).toBe(400);
      expect((await answer.json()).errors).toEqual([{ pointer: '/path', message: 'must not contain the NUL character (U+0000)' }]);
      const listed = await client.GET('/v1/connections', { params: { query: { q: reference } } });
      expect(listed.data!.data).toEqual([]);
    });
  });

  describe('cursors', () => {
    it("when a cursor is tampered with, or used by another tenant, then a 400 points at /query/cursor", async () => {
      const owner = await tenant(target);
      await createConnection(owner.client);
      await createConnection(owner.client);
      const first = await owner.client.GET('/v1/connections', { params: { query: { limit: 1 } } });
      const cursor = first.data!.next_cursor!;
      expect(cursor).toEqual(expect.any(String));
      const [payload, signature] = cursor.split('.');
      const position = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
      const forged = `${Buffer.from(JSON.stringify({ ...position, v: '1970-01-01T00:00:00.000Z' })).toString('base64url')}.${signature}`;
      const stranger = await tenant(target);
      for (const [client, bad] of [[owner.client, forged], [owner.client, `${payload}.${'A'.repeat(signature!.length)}`], [owner.client, payload!], [stranger.client, cursor]] as const) {
        const answer = await client.GET('/v1/connections', { params: { query: { limit: 1, cursor: bad } } });
        expect(answer.response.status, bad).toBe(400);
        expect(answer.error!.errors).toEqual([{ pointer: '/query/cursor', message: 'is not a valid cursor for this query' }]);
      }
      const second = await owner.client.GET('/v1/connections', { params: { query: { limit: 1, cursor } } });
      expect(second.response.status).toBe(200);
      expect(second.data!.data).toHaveLength(1);
    });
  });

  describe("a sync worker's error text", () => {
    it("when it quotes the connection's own secret, then the secret is stored and shown as [redacted]", async () => {
      const { client } = await tenant(target);
      const secret = stripeSecret();
      const c = await createConnection(client, { credentials: { secret_key: secret } });
      const run = await client.POST('/v1/connections/{connectionId}/sync-runs', {
        params: { path: { connectionId: c.id } },
        body: { outcome: 'failed', error: { code: `auth_${secret}`, message: `401 from Stripe for Authorization: Bearer ${secret} (retrying)` } },
      });
      expect(run.response.status).toBe(201);
      expect(JSON.stringify(run.data)).not.toContain(secret);
      expect(run.data!.error).toMatchObject({ code: 'auth_[redacted]', message: '401 from Stripe for Authorization: Bearer [redacted] (retrying)' });
      const after = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
      expect(JSON.stringify(after.data)).not.toContain(secret);
      expect(after.data!.last_error).toMatchObject({ message: '401 from Stripe for Authorization: Bearer [redacted] (retrying)' });
    });
  });

  describe('archive racing a PATCH', () => {
    it('when DELETE and PATCH without If-Match race five times, then every DELETE is a 200 and every connection ends archived without credentials', async () => {
      const { client } = await tenant(target);
      for (let i = 0; i < 5; i++) {
        const c = await createConnection(client);
        const [patch, del] = await Promise.all([
          client.PATCH('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } }, body: { name: `racing ${i}` } }),
          client.DELETE('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } }),
        ]);
        expect([200, 409]).toContain(patch.response.status);
        expect(del.response.status).toBe(200);
        const { data } = await client.GET('/v1/connections/{connectionId}', { params: { path: { connectionId: c.id } } });
        expect(data).toMatchObject({ status: 'archived', credentials_summary: {} });
        const events = await eventsOf(client, c.id);
        expect(events.filter((e) => e.action === 'archived')).toHaveLength(1);
      }
    });
  });
});
