/** The JWKS server of the test run (issue 11): started by the global setup on 127.0.0.1, it
 * serves the public halves of keys generated per run (one per accepted algorithm), and the
 * shared servers trust it (PATCHBAY_JWT_JWKS_URL). It also takes a key a test generated
 * (POST /keys: the identity provider rotating its keys) and counts the fetches (GET /stats),
 * so a test can see a server fetch again on an unknown `kid`. No vitest import: the global
 * setup runs it outside the test workers. Tests sign with support/tokens.ts. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

/** What the shared servers are configured to accept. */
export const TOKEN_ISSUER = 'https://id.patchbay.test/realms/patchbay';
export const TOKEN_AUDIENCE = 'patchbay-api';
/** The platform claim of the shared servers: `patchbay_role: platform` marks a platform token. */
export const PLATFORM_CLAIM = { name: 'patchbay_role', value: 'platform' } as const;
/** The seeds' own words: Solvimon's INTEGRATION.* permissions (seed 004). */
export const PERMISSION_MAP = {
  'INTEGRATION.VIEW': ['connections:read'],
  'INTEGRATION.CREATE': ['connections:write', 'credentials:write'],
  'INTEGRATION.UPDATE': ['connections:write', 'credentials:write'],
  'INTEGRATION.DELETE': ['connections:write'],
} as const;

export type SigningAlgorithm = 'ES256' | 'RS256' | 'EdDSA';
/** A private key as a JWK, with its kid and alg. */
export type SigningKey = JWK & { kid: string; alg: SigningAlgorithm };

/** A fresh key pair for `alg`: the private JWK and the public one, both with `kid`. */
export async function newKeyPair(alg: SigningAlgorithm, kid: string): Promise<{ privateJwk: SigningKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg } as SigningKey;
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { privateJwk, publicJwk };
}

export interface JwksServer {
  url: string;
  keys: Record<SigningAlgorithm, SigningKey>;
  /** The environment that makes a server trust this JWKS (and the suite's issuer, audience, claims). */
  serverEnv: Record<string, string>;
  stop: () => Promise<void>;
}

/** Starts the JWKS server with one key per algorithm. */
export async function startJwksServer(): Promise<JwksServer> {
  const keys = {} as Record<SigningAlgorithm, SigningKey>;
  const served: JWK[] = [];
  for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
    const pair = await newKeyPair(alg, `run-${alg.toLowerCase()}`);
    keys[alg] = pair.privateJwk;
    served.push(pair.publicJwk);
  }
  let fetches = 0;
  const server: Server = createServer((req, res) => {
    const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/jwks.json') {
      fetches += 1;
      return answer(200, { keys: served });
    }
    if (req.method === 'GET' && req.url === '/stats') return answer(200, { fetches });
    if (req.method === 'POST' && req.url === '/keys') {
      let text = '';
      req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      req.on('end', () => {
        const jwk = JSON.parse(text) as JWK;
        // Public halves only: a test that posts a private key is a test bug.
        if ('d' in jwk) return answer(400, { error: 'public keys only' });
        served.push(jwk);
        answer(201, { keys: served.length });
      });
      return;
    }
    answer(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    keys,
    serverEnv: {
      PATCHBAY_JWT_JWKS_URL: `${url}/jwks.json`,
      PATCHBAY_JWT_ISSUER: TOKEN_ISSUER,
      PATCHBAY_JWT_AUDIENCE: TOKEN_AUDIENCE,
      // Payven's tokens name the tenant in tenant_id, Solvimon's in platform_id (its x-platform-id).
      PATCHBAY_JWT_TENANT_CLAIM: 'tenant_id,platform_id',
      PATCHBAY_JWT_PERMISSION_MAP: JSON.stringify(PERMISSION_MAP),
      PATCHBAY_JWT_PLATFORM_CLAIM: `${PLATFORM_CLAIM.name}=${PLATFORM_CLAIM.value}`,
      // A key the identity provider adds is picked up within a second (30 s in production).
      PATCHBAY_JWT_JWKS_COOLDOWN_SECONDS: '1',
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

