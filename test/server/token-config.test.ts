/** Bearer token settings (PATCHBAY_JWT_*, apps/server/src/platform/token-config.ts): a bad
 * value stops start-up naming the variable and never echoing a secret; configured public
 * keys (PEM) and an HS256 secret verify tokens without any JWKS; a JWKS that does not answer
 * within PATCHBAY_JWT_JWKS_TIMEOUT_MS is a 503 with Retry-After, never a 401. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectProblem, call } from '../support/http.js';
import { MASTER_KEY as SHARED_MASTER_KEY } from '../support/global-setup.js';
import { LISTENING, spawnServer, startServer, type RunningServer } from '../support/processes.js';
import { registerSecret } from '../support/secrets.js';

const ADMIN_KEY = 'pb_test_token_config_admin_key_0123456789';
const MASTER_KEY = Buffer.alloc(32, 5).toString('base64');
const ISSUER = 'https://login.example.test/';
const AUDIENCE = 'patchbay-tokens-test';
const HS256_SECRET = registerSecret('hs256-shared-secret-for-this-test-only-0123456789', 'the HS256 secret of token-config.test.ts');
const TOKEN_ENV = { PATCHBAY_JWT_ISSUER: ISSUER, PATCHBAY_JWT_AUDIENCE: AUDIENCE };

describe.concurrent('Bearer token settings that stop start-up', () => {
  const PRIVATE_PEM = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAbcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHI\n-----END PRIVATE KEY-----';
  it.for([
    ['an issuer without any key source', { PATCHBAY_JWT_ISSUER: ISSUER }, 'PATCHBAY_JWT_JWKS_URL', undefined],
    ['a JWKS over http to another host', { ...TOKEN_ENV, PATCHBAY_JWT_JWKS_URL: 'http://idp.example.test/jwks.json' }, 'PATCHBAY_JWT_JWKS_URL', undefined],
    ['a JWKS URL without an issuer', { PATCHBAY_JWT_AUDIENCE: AUDIENCE, PATCHBAY_JWT_JWKS_URL: 'https://idp.example.test/jwks.json' }, 'PATCHBAY_JWT_ISSUER', undefined],
    ['a JWKS URL without an audience', { PATCHBAY_JWT_ISSUER: ISSUER, PATCHBAY_JWT_JWKS_URL: 'https://idp.example.test/jwks.json' }, 'PATCHBAY_JWT_AUDIENCE', undefined],
    ['an HS256 secret shorter than 32 bytes', { ...TOKEN_ENV, PATCHBAY_JWT_HS256_SECRET: 'short-hs256-secret-x' }, 'PATCHBAY_JWT_HS256_SECRET', 'short-hs256-secret-x'],
    ['a private key among the public keys', { ...TOKEN_ENV, PATCHBAY_JWT_PUBLIC_KEYS: PRIVATE_PEM }, 'PATCHBAY_JWT_PUBLIC_KEYS', 'MC4CAQAwBQYDK2VwBCIEIAbcdefghijklmnopqrstuvwxyz'],
    ['a permission mapped to a scope the spec does not define', { ...TOKEN_ENV, PATCHBAY_JWT_JWKS_URL: 'https://idp.example.test/jwks.json', PATCHBAY_JWT_PERMISSION_MAP: '{"INTEGRATION.UPDATE":["connections:admin"]}' }, 'PATCHBAY_JWT_PERMISSION_MAP', undefined],
    ['a clock skew above 300 s', { ...TOKEN_ENV, PATCHBAY_JWT_JWKS_URL: 'https://idp.example.test/jwks.json', PATCHBAY_JWT_CLOCK_SKEW_SECONDS: '3600' }, 'PATCHBAY_JWT_CLOCK_SKEW_SECONDS', undefined],
  ] as const)('exits naming the variable when given %s', async ([, env, variable, secret], { expect }) => {
    const run = spawnServer({ PATCHBAY_ADMIN_KEY: ADMIN_KEY, PATCHBAY_MASTER_KEY: MASTER_KEY, ...env });
    const { code } = await run.exit();
    expect(code, run.output()).toBe(78);
    expect(run.output()).toContain(variable);
    if (secret) expect(run.output()).not.toContain(secret);
    expect(run.output()).not.toMatch(LISTENING);
  });
});

describe('a server with PEM public keys, an HS256 secret and a JWKS that does not answer', () => {
  let server: RunningServer;
  let hanging: Server;
  let tenantId: string;
  let edKey: CryptoKey;

  beforeAll(async () => {
    // An identity provider that accepts the connection and never answers.
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    edKey = pair.privateKey;
    const databaseUrl = inject('postgresDatabaseUrl');
    server = await startServer(databaseUrl ? { store: 'postgres', databaseUrl } : { store: 'pglite' }, {
      PATCHBAY_ADMIN_KEY: ADMIN_KEY,
      // The suite's shared database holds data under the shared servers' key: another key is
      // refused at start by its key-check value (decision 0021).
      PATCHBAY_MASTER_KEY: databaseUrl ? SHARED_MASTER_KEY : MASTER_KEY,
      ...TOKEN_ENV,
      PATCHBAY_JWT_PUBLIC_KEYS: await exportSPKI(pair.publicKey),
      PATCHBAY_JWT_HS256_SECRET: HS256_SECRET,
      PATCHBAY_JWT_JWKS_URL: `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/jwks.json`,
      PATCHBAY_JWT_JWKS_TIMEOUT_MS: '300',
    });
    const created = await call('/admin/v1/tenants', { baseUrl: server.url, apiKey: ADMIN_KEY, method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'token config tenant' }) });
    expect(created.status, created.text).toBe(201);
    tenantId = (created.json as { id: string }).id;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    hanging?.closeAllConnections();
    await new Promise((resolve) => hanging?.close(resolve));
  });

  const claims = () => ({ tenant_id: tenantId, scope: 'connections:read' });
  const sign = (jwt: SignJWT) => jwt.setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('cfg-user').setIssuedAt().setExpirationTime('5m');
  const get = (token: string) => call('/v1/connections', { baseUrl: server.url, apiKey: null, headers: { Authorization: `Bearer ${token}` } });

  it('when a token is signed with the configured PEM key (EdDSA, no kid), then it is accepted without any JWKS', async () => {
    const token = registerSecret(await sign(new SignJWT(claims()).setProtectedHeader({ alg: 'EdDSA' })).sign(edKey), 'a token of token-config.test.ts');
    const answer = await get(token);
    expect(answer.status, answer.text).toBe(200);
  });

  it('when a token is signed with the configured HS256 secret, then it is accepted; with another secret, 401', async () => {
    const good = registerSecret(await sign(new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' })).sign(new TextEncoder().encode(HS256_SECRET)), 'a token of token-config.test.ts');
    expect((await get(good)).status).toBe(200);
    const forged = registerSecret(await sign(new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' })).sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes-000')), 'a token of token-config.test.ts');
    expect(expectProblem(await get(forged), 401, 'unauthenticated').detail).toMatch(/signature/);
  });

  it('when a token names a kid the local keys do not have and the JWKS does not answer in time, then 503 with Retry-After, not 401', async () => {
    const other = await generateKeyPair('ES256');
    const token = registerSecret(await sign(new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'not-local' })).sign(other.privateKey), 'a token of token-config.test.ts');
    const started = performance.now();
    const answer = await get(token);
    expect(performance.now() - started).toBeLessThan(5000);
    const problem = expectProblem(answer, 503, 'not_ready');
    expect(problem.detail).toMatch(/JWKS/);
    expect(answer.headers.get('retry-after')).toBe('5');
  });
});
