/** Bearer tokens for the tests (issue 11): signToken() signs as the identity provider the
 * shared servers trust (support/jwks-server.ts, started by the global setup), with the run's
 * keys or a key the test generated. */
import { importJWK, SignJWT, type JWTPayload } from 'jose';
import { inject } from 'vitest';
import type { SigningAlgorithm, SigningKey } from './jwks-server.js';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from './jwks-server.js';
import { registerSecret } from './secrets.js';

export { newKeyPair, PERMISSION_MAP, PLATFORM_CLAIM, TOKEN_AUDIENCE, TOKEN_ISSUER, type SigningAlgorithm, type SigningKey } from './jwks-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The JWKS server's base URL (GET /jwks.json, POST /keys, GET /stats). */
    jwksUrl: string;
    /** The private keys whose public halves the JWKS serves, by algorithm. */
    tokenKeys: Record<SigningAlgorithm, SigningKey>;
  }
}

export interface SignOptions {
  /** The key to sign with: one of the run's (by algorithm, default ES256) or a test's own. */
  key?: SigningAlgorithm | SigningKey;
  issuer?: string;
  audience?: string | string[];
  /** Seconds from now; negative for a token that has expired. Default 300. */
  expiresIn?: number;
  /** Seconds from now the token becomes valid (nbf). */
  notBefore?: number;
  subject?: string;
  /** Header members to override (kid, typ). */
  header?: Record<string, unknown>;
}

/** Signs a JWT with `claims` as a trusted identity provider would; registered as a secret, so no response or log line may echo it. */
export async function signToken(claims: JWTPayload, options: SignOptions = {}): Promise<string> {
  const jwk = typeof options.key === 'object' ? options.key : inject('tokenKeys')[options.key ?? 'ES256'];
  const now = Math.floor(Date.now() / 1000);
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'JWT', ...options.header })
    .setIssuedAt(now)
    .setIssuer(options.issuer ?? TOKEN_ISSUER)
    .setAudience(options.audience ?? TOKEN_AUDIENCE)
    .setSubject(options.subject ?? 'user-7f3a')
    .setExpirationTime(now + (options.expiresIn ?? 300));
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(now + options.notBefore);
  const token = await jwt.sign(await importJWK(jwk, jwk.alg));
  return registerSecret(token, 'a bearer token signed by the tests');
}

/** `Authorization: Bearer <token>`. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });
