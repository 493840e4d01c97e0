/** Bearer tokens (issue 11): `Authorization: Bearer <JWT>` beside API keys. The shared servers
 * trust the run's JWKS server (support/jwks-server.ts: issuer, audience, tenant claims
 * tenant_id or platform_id, Solvimon's INTEGRATION.* permission map, platform claim
 * patchbay_role=platform, 30 s clock skew, 1 s JWKS cooldown); tokens are signed here with
 * keys the run generated, or that a test generates. */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { SignJWT } from 'jose';
import { call, expectProblem, type CallOptions } from '../support/http.js';
import { describeEach, serverTargets, type Target } from '../support/targets.js';
import { bearer, newKeyPair, signToken, type SignOptions } from '../support/tokens.js';
import { buildConnection, createConnection, tenant } from './factories.js';

const ALL_TENANT_SCOPES = 'connections:read connections:write credentials:write sync_runs:write';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describeEach(serverTargets())('Bearer tokens on the $name', (target: Target) => {
  const as = (token: string, options: CallOptions = {}) => ({ ...options, apiKey: null, baseUrl: target.baseUrl, headers: { ...bearer(token), ...options.headers } });
  const tokenFor = (tenantId: string, scope = ALL_TENANT_SCOPES, options: SignOptions = {}) => signToken({ tenant_id: tenantId, scope }, options);
  /** A tenant with one connection (made with an API key), and a 401 helper that names the reason. */
  const withConnection = async () => {
    const owner = await tenant(target);
    const connection = await createConnection(owner.client);
    return { ...owner, connection };
  };
  const refused = async (token: string, reason: RegExp) => {
    const problem = expectProblem(await call('/v1/connections', as(token)), 401, 'unauthenticated');
    expect(problem.detail).toMatch(reason);
    expect(problem.detail).toMatch(/Authorization: Bearer <JWT>/);
  };

  describe('a valid token', () => {
    it('when a token names its tenant, then it lists and reads that tenant’s connections, signed with ES256, RS256 or EdDSA', async () => {
      const { tenantId, connection } = await withConnection();
      for (const key of ['ES256', 'RS256', 'EdDSA'] as const) {
        const list = await call('/v1/connections', as(await tokenFor(tenantId, 'connections:read', { key })));
        expect(list.status, `${key}: ${list.text}`).toBe(200);
        expect((list.json as { data: { id: string }[] }).data.map((c) => c.id)).toEqual([connection.id]);
      }
    });

    it('when a token creates a connection, then the connection names the token’s subject as its creator', async () => {
      const { tenantId } = await tenant(target);
      const token = await tokenFor(tenantId, ALL_TENANT_SCOPES, { subject: 'svc-payments-7' });
      const created = await call('/v1/connections', as(token, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(buildConnection()) }));
      expect(created.status, created.text).toBe(201);
      expect((created.json as { created_by: unknown }).created_by).toEqual({ type: 'token', id: null, subject: 'svc-payments-7' });
    });

    it('when a token expired or becomes valid within the clock skew (30 s), then it is accepted', async () => {
      const { tenantId } = await tenant(target);
      expect((await call('/v1/connections', as(await tokenFor(tenantId, 'connections:read', { expiresIn: -10 })))).status).toBe(200);
      expect((await call('/v1/connections', as(await tokenFor(tenantId, 'connections:read', { notBefore: 10 })))).status).toBe(200);
    });
  });

  describe('a token that is not valid is a 401 saying why', () => {
    it('when no credential is sent, then the 401 names every accepted form', async () => {
      const problem = expectProblem(await call('/v1/connections', { apiKey: null, baseUrl: target.baseUrl }), 401, 'unauthenticated');
      expect(problem.detail).toMatch(/X-Api-Key.*Basic.*Bearer/);
    });

    it('when the signature is not the trusted key’s (same kid, another key), then 401', async () => {
      const { tenantId } = await tenant(target);
      const forger = await newKeyPair('ES256', 'run-es256');
      await refused(await tokenFor(tenantId, ALL_TENANT_SCOPES, { key: forger.privateJwk }), /signature does not verify/);
      // A valid token whose payload was changed after signing fails the same way.
      const [header, , signature] = (await tokenFor(tenantId)).split('.');
      await refused(`${header}.${b64url({ tenant_id: tenantId, scope: ALL_TENANT_SCOPES, sub: 'x', exp: 4102444800 })}.${signature}`, /signature|issuer|audience/);
    });

    it('when the issuer is another, then 401', async () => {
      const { tenantId } = await tenant(target);
      await refused(await tokenFor(tenantId, ALL_TENANT_SCOPES, { issuer: 'https://id.attacker.test/' }), /issuer/);
    });

    it('when the audience is another service, then 401', async () => {
      const { tenantId } = await tenant(target);
      await refused(await tokenFor(tenantId, ALL_TENANT_SCOPES, { audience: 'billing-api' }), /audience/);
    });

    it('when the token expired beyond the clock skew, then 401', async () => {
      const { tenantId } = await tenant(target);
      await refused(await tokenFor(tenantId, ALL_TENANT_SCOPES, { expiresIn: -120 }), /expired/);
    });

    it('when the token is not valid yet beyond the clock skew, then 401', async () => {
      const { tenantId } = await tenant(target);
      await refused(await tokenFor(tenantId, ALL_TENANT_SCOPES, { notBefore: 120 }), /not valid yet/);
    });

    it('when the token names no tenant, then 401', async () => {
      await refused(await signToken({ scope: ALL_TENANT_SCOPES }), /names no tenant/);
    });

    it('when the token names a tenant this server does not have, then 401', async () => {
      await refused(await tokenFor('ten_01jd5qzzzzzzzzzzzzzzzzzzzz'), /tenant this server does not have/);
    });

    it('when the token is unsigned (alg none) or HS256 (no secret is configured), then 401', async () => {
      const { tenantId } = await tenant(target);
      const now = Math.floor(Date.now() / 1000);
      const claims = { tenant_id: tenantId, scope: ALL_TENANT_SCOPES, iss: 'https://id.patchbay.test/realms/patchbay', aud: 'patchbay-api', sub: 'x', exp: now + 300 };
      await refused(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`, /algorithm|well-formed/);
      const hs256 = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('a-secret-of-at-least-32-bytes-000000'));
      await refused(hs256, /algorithm/);
    });

    it('when the token is not a JWT at all, then 401', async () => {
      await refused('not-a-jwt', /well-formed/);
    });
  });

  describe('key rotation', () => {
    it('when a token is signed with a kid the JWKS does not have, then 401; once the identity provider publishes the key, the JWKS is fetched again and the token is accepted', async () => {
      const { tenantId } = await tenant(target);
      const rotated = await newKeyPair('ES256', `rotated-${randomUUID()}`);
      const token = await tokenFor(tenantId, 'connections:read', { key: rotated.privateJwk });
      await refused(token, /key this server does not know/);

      const jwks = inject('jwksUrl');
      const added = await fetch(`${jwks}/keys`, { method: 'POST', body: JSON.stringify(rotated.publicJwk) });
      expect(added.status).toBe(201);
      const before = ((await (await fetch(`${jwks}/stats`)).json()) as { fetches: number }).fetches;
      // The servers fetch again on an unknown kid at most once a second (PATCHBAY_JWT_JWKS_COOLDOWN_SECONDS=1).
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const accepted = await call('/v1/connections', as(token));
      expect(accepted.status, accepted.text).toBe(200);
      const after = ((await (await fetch(`${jwks}/stats`)).json()) as { fetches: number }).fetches;
      expect(after).toBeGreaterThan(before);
    });
  });

  describe('scopes and tenants', () => {
    it('when a token’s permissions are not enough (INTEGRATION.VIEW creates a connection), then 403 naming the scope', async () => {
      const { tenantId } = await tenant(target);
      const token = await signToken({ platform_id: tenantId, permissions: ['INTEGRATION.VIEW'] });
      expect((await call('/v1/connections', as(token))).status).toBe(200);
      const problem = expectProblem(await call('/v1/connections', as(token, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(buildConnection()) })), 403, 'forbidden');
      expect(problem).toMatchObject({ required_scopes: ['connections:write'] });
    });

    it('when a word of the token is neither a scope nor in the permission map, then it grants nothing', async () => {
      const { tenantId } = await tenant(target);
      const token = await signToken({ tenant_id: tenantId, scope: 'openid profile connections:admin', permissions: ['INTEGRATION.EVERYTHING'] });
      const problem = expectProblem(await call('/v1/connections', as(token)), 403, 'forbidden');
      expect(problem).toMatchObject({ required_scopes: ['connections:read'] });
    });

    it('when a tenant token names another tenant with X-Tenant-Id, then 403 and nothing of the other tenant is shown', async () => {
      const mine = await tenant(target);
      const theirs = await withConnection();
      const token = await tokenFor(mine.tenantId);
      const problem = expectProblem(await call('/v1/connections', as(token, { headers: { 'X-Tenant-Id': theirs.tenantId } })), 403, 'forbidden');
      expect(JSON.stringify(problem)).not.toContain(theirs.connection.id);
      // Its own tenant's connections are not another tenant's either.
      const other = await call(`/v1/connections/${theirs.connection.id}`, as(token));
      expectProblem(other, 404, 'not_found');
    });

    it('when a tenant token carries platform scopes, then it still may not call the admin API', async () => {
      const { tenantId } = await tenant(target);
      const token = await tokenFor(tenantId, 'tenants:read tenants:write connections:read');
      const problem = expectProblem(await call('/admin/v1/tenants', as(token)), 403, 'forbidden');
      expect(problem.detail).toMatch(/platform/);
    });

    it('when a token carries the platform claim, then it is a platform principal: the admin API, and a tenant named with X-Tenant-Id', async () => {
      const { tenantId, connection } = await withConnection();
      const platform = await signToken({ patchbay_role: 'platform', scope: 'tenants:read connections:read' }, { subject: 'operator-1' });
      expect((await call('/admin/v1/tenants?limit=1', as(platform))).status).toBe(200);
      const inside = await call('/v1/connections', as(platform, { headers: { 'X-Tenant-Id': tenantId } }));
      expect(inside.status, inside.text).toBe(200);
      expect((inside.json as { data: { id: string }[] }).data.map((c) => c.id)).toEqual([connection.id]);
      // Without the scope the operation names, a platform token is refused too.
      expectProblem(await call('/admin/v1/tenants', as(await signToken({ patchbay_role: 'platform', scope: 'connections:read' }))), 403, 'forbidden');
    });

    it('when a token carries both the platform claim and a tenant claim, then 401: a token is one or the other', async () => {
      const { tenantId } = await tenant(target);
      await refused(await signToken({ patchbay_role: 'platform', tenant_id: tenantId, scope: 'tenants:read connections:read' }), /both the platform claim and a tenant claim/);
    });

    it('when an API key and a token of different tenants are both sent, then the API key decides', async () => {
      const keyed = await withConnection();
      const other = await tenant(target);
      const answer = await call('/v1/connections', { apiKey: keyed.apiKey, baseUrl: target.baseUrl, headers: bearer(await tokenFor(other.tenantId)) });
      expect(answer.status).toBe(200);
      expect((answer.json as { data: { id: string }[] }).data.map((c) => c.id)).toEqual([keyed.connection.id]);
    });
  });
});
