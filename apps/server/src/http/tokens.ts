/**
 * Bearer tokens (issue 11): `Authorization: Bearer <JWT>` verified with jose against the
 * identity provider's JWKS (fetched, cached, fetched again on an unknown `kid`, each fetch
 * bounded by a timeout) or configured public keys. RS256, ES256 and EdDSA; HS256 only with a
 * configured secret; never `none`. Issuer, audience, expiry and not-before are checked with a
 * bounded clock skew; `exp` and `sub` are required (a token without an end, or without anyone
 * to name in the audit trail, is refused). The claims then name the token's tenant and, through
 * the permission map, its scopes. Decision 0015.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTHeaderParameters, type JWTPayload, type FlattenedJWSInput } from 'jose';
import type { TokenConfig } from '../platform/config.js';
import { scopesOfSpec } from '../platform/token-config.js';

/** What a verified token says about its bearer. */
export interface TokenIdentity {
  subject: string;
  /** True only for a token carrying the configured platform claim. */
  platform: boolean;
  /** The tenant a tenant token acts in (undefined for a platform token). */
  tenantId: string | undefined;
  /** Its Patchbay scopes: scope names as they are, permission words through the map; a tenant token never holds a platform scope. */
  scopes: string[];
}

/** The outcome of checking a token: who it is, or why it is refused (a sentence fit for the 401). */
export type TokenCheck = { ok: true; identity: TokenIdentity } | { ok: false; reason: string };

/** The keys could not be fetched: the token may well be valid, so this is a 503, not a 401. */
export class TokenKeysUnavailable extends Error {
  constructor(cause: unknown) {
    super('the JWKS could not be fetched', { cause });
    this.name = 'TokenKeysUnavailable';
  }
}

/** The token a request presents in `Authorization: Bearer <token>`, or undefined. */
export function presentedBearer(authorization: string | undefined): string | undefined {
  const match = authorization ? /^bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  return match ? match[1] : undefined;
}

const ASYMMETRIC = ['RS256', 'ES256', 'EdDSA'];

/** Words of a scope claim: a space-separated string (OAuth `scope`) or an array of strings (`permissions`). */
function wordsOf(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}

function claimMatches(value: unknown, expected: string): boolean {
  if (Array.isArray(value)) return value.some((item) => String(item) === expected);
  return value !== undefined && value !== null && String(value) === expected;
}

/** Why jose refused a token, in words that tell the caller what to fix and nothing more. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The bearer token has expired.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return 'The bearer token was not issued by an issuer this server trusts.';
    if (error.claim === 'aud') return 'The bearer token is not meant for this server (audience).';
    if (error.claim === 'nbf') return 'The bearer token is not valid yet.';
    if (error.reason === 'missing') return `The bearer token lacks the ${error.claim} claim.`;
    return `The bearer token's ${error.claim} claim is not valid.`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The bearer token\'s signature does not verify.';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'The bearer token is signed with an algorithm this server does not accept.';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) return 'The bearer token is signed with a key this server does not know.';
  return 'The bearer token is not a well-formed JWT.';
}

/** Builds the verifier once (it keeps the fetched JWKS between requests). */
export function createTokenVerifier(config: TokenConfig): (token: string) => Promise<TokenCheck> {
  const local = config.publicKeys.length ? createLocalJWKSet({ keys: config.publicKeys as never[] }) : undefined;
  const remote = config.jwksUrl
    ? createRemoteJWKSet(config.jwksUrl, {
        timeoutDuration: config.jwksTimeoutMs,
        cooldownDuration: config.jwksCooldownSeconds * 1000,
        cacheMaxAge: config.jwksCacheSeconds * 1000,
      })
    : undefined;
  const algorithms = config.hs256Secret ? [...ASYMMETRIC, 'HS256'] : ASYMMETRIC;
  const spec = scopesOfSpec();
  const tenantScopes = new Set(spec.tenant);
  const allScopes = new Set([...spec.tenant, ...spec.platform]);

  const getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (header.alg === 'HS256') {
      if (!config.hs256Secret) throw new errors.JOSEAlgNotAllowed('HS256 is not configured');
      return config.hs256Secret;
    }
    if (local) {
      try {
        return await local(header, token);
      } catch (error) {
        if (!remote || !(error instanceof errors.JWKSNoMatchingKey)) throw error;
      }
    }
    if (!remote) throw new errors.JWKSNoMatchingKey();
    try {
      return await remote(header, token);
    } catch (error) {
      // No key for this kid (after a fetch), or a key of another type: the token's fault.
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys || error instanceof errors.JOSENotSupported) throw error;
      // A timeout, a refused connection, a non-200 answer or a body that is no JWKS: ours.
      throw new TokenKeysUnavailable(error);
    }
  };

  return async (token: string): Promise<TokenCheck> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms,
        issuer: config.issuers,
        audience: config.audiences,
        clockTolerance: config.clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      if (error instanceof TokenKeysUnavailable) throw error;
      return { ok: false, reason: reasonOf(error) };
    }
    const subject = payload.sub!;
    const words = config.scopeClaims.flatMap((claim) => wordsOf(payload[claim]));
    // A permission word counts through the map; a Patchbay scope name counts as itself; any other word grants nothing.
    const granted = new Set(words.flatMap((word) => config.permissionMap[word] ?? (allScopes.has(word) ? [word] : [])));
    const platform = config.platformClaim !== undefined && claimMatches(payload[config.platformClaim.name], config.platformClaim.value);
    const tenantClaim = config.tenantClaims.find((claim) => typeof payload[claim] === 'string' && payload[claim] !== '');
    if (platform) {
      if (tenantClaim) return { ok: false, reason: `The bearer token carries both the platform claim and a tenant claim (${tenantClaim}); a token is one or the other.` };
      return { ok: true, identity: { subject, platform: true, tenantId: undefined, scopes: [...granted] } };
    }
    if (!tenantClaim) return { ok: false, reason: `The bearer token names no tenant (claim ${config.tenantClaims.join(' or ')}).` };
    // A tenant token never holds a platform scope, whatever its claims or the map say.
    return { ok: true, identity: { subject, platform: false, tenantId: payload[tenantClaim] as string, scopes: [...granted].filter((scope) => tenantScopes.has(scope)) } };
  };
}
