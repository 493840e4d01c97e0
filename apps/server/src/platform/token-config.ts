/**
 * The Bearer token settings (issue 11): which JWTs the server trusts, and how a token's
 * claims name its tenant and its scopes. Parsed once at start with the rest of the
 * configuration; a bad value stops start-up naming the variable, and never repeats a secret.
 * Bearer tokens are off (every Bearer credential is a 401) unless a key source is set:
 * PATCHBAY_JWT_JWKS_URL, PATCHBAY_JWT_PUBLIC_KEYS or PATCHBAY_JWT_HS256_SECRET.
 */
import { createPublicKey } from 'node:crypto';
import { loadDocument } from '@patchbay/api-types/documents';
import { ConfigError } from './config-error.js';

/** A public key as a JWK (RSA, EC P-256 or OKP Ed25519), never a private or a symmetric one. */
export type PublicJwk = Record<string, unknown> & { kty: string; kid?: string; alg?: string };

export interface TokenConfig {
  /** PATCHBAY_JWT_JWKS_URL: the identity provider's JWKS (https, or http on a loopback host). */
  jwksUrl: URL | undefined;
  /** PATCHBAY_JWT_PUBLIC_KEYS: a JWKS (`{"keys":[...]}`), one JWK, or PEM public key(s). */
  publicKeys: PublicJwk[];
  /** PATCHBAY_JWT_HS256_SECRET: turns HS256 on (at least 32 bytes); unset, HS256 is refused. */
  hs256Secret: Uint8Array | undefined;
  /** PATCHBAY_JWT_ISSUER: the accepted `iss` values (comma-separated). Required. */
  issuers: string[];
  /** PATCHBAY_JWT_AUDIENCE: the accepted `aud` values (comma-separated). Required. */
  audiences: string[];
  /** PATCHBAY_JWT_TENANT_CLAIM: the claims that name the token's tenant, the first present wins. Default `tenant_id`. */
  tenantClaims: string[];
  /** PATCHBAY_JWT_SCOPE_CLAIMS: claims holding scopes or permissions (a space-separated string or an array). Default `scope,scp,permissions`. */
  scopeClaims: string[];
  /** PATCHBAY_JWT_PERMISSION_MAP: JSON, a permission word -> the Patchbay scope(s) it grants. Default `{}` (only scope names count). */
  permissionMap: Record<string, string[]>;
  /** PATCHBAY_JWT_PLATFORM_CLAIM: `claim=value` marking a platform token. Default unset: no token is ever a platform principal. */
  platformClaim: { name: string; value: string } | undefined;
  /** PATCHBAY_JWT_CLOCK_SKEW_SECONDS: leeway on exp and nbf, 0..300. Default 30. */
  clockSkewSeconds: number;
  /** PATCHBAY_JWT_JWKS_TIMEOUT_MS: how long one JWKS fetch may take, 100..30000. Default 3000. */
  jwksTimeoutMs: number;
  /** PATCHBAY_JWT_JWKS_COOLDOWN_SECONDS: the least time between two fetches on an unknown `kid`, 0..3600. Default 30. */
  jwksCooldownSeconds: number;
  /** PATCHBAY_JWT_JWKS_CACHE_SECONDS: how long a fetched JWKS is used before it is fetched again, 1..86400. Default 600. */
  jwksCacheSeconds: number;
}

/** The scopes the spec defines: a tenant's (Scope) and a platform principal's (PlatformScope). */
export function scopesOfSpec(): { tenant: string[]; platform: string[] } {
  const enumOf = (api: 'connections' | 'admin', name: string): string[] =>
    ((loadDocument(api) as { components?: { schemas?: Record<string, { enum?: string[] }> } }).components?.schemas?.[name]?.enum ?? []).slice();
  return { tenant: enumOf('connections', 'Scope'), platform: enumOf('admin', 'PlatformScope') };
}

const list = (text: string | undefined): string[] =>
  (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

function whole(variable: string, text: string | undefined, fallback: number, min: number, max: number): number {
  const value = text?.trim();
  if (!value) return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) throw new ConfigError(variable, `'${value}' is not a whole number from ${min} to ${max}`);
  return number;
}

const ALGORITHM_OF_CURVE: Record<string, string> = { 'P-256': 'ES256', Ed25519: 'EdDSA' };

/** Checks one JWK is a public key of an accepted type; never echoes its material. */
function publicJwk(variable: string, value: unknown, index: number): PublicJwk {
  const jwk = value as PublicJwk;
  const where = `key ${index + 1}`;
  if (typeof jwk !== 'object' || jwk === null || typeof jwk.kty !== 'string') throw new ConfigError(variable, `${where} is not a JWK (no kty)`);
  if ('d' in jwk || jwk.kty === 'oct') throw new ConfigError(variable, `${where} is a private or symmetric key: give public keys only (HS256 takes PATCHBAY_JWT_HS256_SECRET)`);
  const crv = typeof jwk.crv === 'string' ? jwk.crv : undefined;
  const accepted = jwk.kty === 'RSA' || (jwk.kty === 'EC' && crv === 'P-256') || (jwk.kty === 'OKP' && crv === 'Ed25519');
  if (!accepted) throw new ConfigError(variable, `${where} is ${jwk.kty}${crv ? ` ${crv}` : ''}: accepted are RSA (RS256), EC P-256 (ES256) and OKP Ed25519 (EdDSA)`);
  if (jwk.alg !== undefined && !['RS256', 'ES256', 'EdDSA'].includes(jwk.alg)) throw new ConfigError(variable, `${where} has alg ${String(jwk.alg)}: accepted are RS256, ES256 and EdDSA`);
  return jwk;
}

/** A JWKS, one JWK, or one or more PEM public keys (SPKI), as JWKs. */
function parsePublicKeys(variable: string, text: string | undefined): PublicJwk[] {
  const value = text?.trim();
  if (!value) return [];
  if (value.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ConfigError(variable, 'is not valid JSON (give a JWKS {"keys":[...]}, one JWK, or PEM public keys)');
    }
    const keys = Array.isArray((parsed as { keys?: unknown }).keys) ? (parsed as { keys: unknown[] }).keys : [parsed];
    if (!keys.length) throw new ConfigError(variable, 'holds no key');
    return keys.map((key, index) => publicJwk(variable, key, index));
  }
  const blocks = value.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g);
  if (!blocks) throw new ConfigError(variable, 'is neither JSON (a JWKS or a JWK) nor PEM public keys');
  return blocks.map((pem, index) => {
    if (/PRIVATE KEY/.test(pem)) throw new ConfigError(variable, `key ${index + 1} is a private key: give the public key only`);
    let jwk: PublicJwk;
    try {
      jwk = createPublicKey(pem).export({ format: 'jwk' }) as PublicJwk;
    } catch {
      throw new ConfigError(variable, `key ${index + 1} is not a PEM public key`);
    }
    const checked = publicJwk(variable, jwk, index);
    return { ...checked, alg: checked.kty === 'RSA' ? 'RS256' : ALGORITHM_OF_CURVE[String(checked.crv)] };
  });
}

function parseJwksUrl(variable: string, text: string | undefined): URL | undefined {
  const value = text?.trim();
  if (!value) return undefined;
  if (!URL.canParse(value)) throw new ConfigError(variable, `'${value}' is not a URL`);
  const url = new URL(value);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  // Keys fetched in clear text could be swapped on the way: https, except on this machine.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new ConfigError(variable, `must be an https:// URL (http:// only on a loopback host)`);
  return url;
}

function parsePermissionMap(variable: string, text: string | undefined, known: Set<string>): Record<string, string[]> {
  const value = text?.trim();
  if (!value) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError(variable, 'is not valid JSON: write {"INTEGRATION.UPDATE": ["connections:write"], ...}');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError(variable, 'must be a JSON object of permission -> scope or [scopes]');
  const map: Record<string, string[]> = {};
  for (const [word, target] of Object.entries(parsed)) {
    const scopes = typeof target === 'string' ? [target] : target;
    if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string')) throw new ConfigError(variable, `'${word}' must map to a scope or a list of scopes`);
    const unknown = (scopes as string[]).filter((scope) => !known.has(scope));
    if (unknown.length) throw new ConfigError(variable, `'${word}' maps to ${unknown.join(', ')}, which the spec does not define (known: ${[...known].join(', ')})`);
    map[word] = scopes as string[];
  }
  return map;
}

/** Reads the Bearer token settings; undefined when no key source is configured (tokens off). */
export function loadTokenConfig(env: NodeJS.ProcessEnv): TokenConfig | undefined {
  const jwksUrl = parseJwksUrl('PATCHBAY_JWT_JWKS_URL', env.PATCHBAY_JWT_JWKS_URL);
  const publicKeys = parsePublicKeys('PATCHBAY_JWT_PUBLIC_KEYS', env.PATCHBAY_JWT_PUBLIC_KEYS);
  const secretText = env.PATCHBAY_JWT_HS256_SECRET ?? '';
  // The value is a secret: messages never repeat it.
  if (secretText !== '' && Buffer.byteLength(secretText, 'utf8') < 32) throw new ConfigError('PATCHBAY_JWT_HS256_SECRET', 'must be at least 32 bytes (e.g. `openssl rand -base64 32`)');
  const hs256Secret = secretText ? new TextEncoder().encode(secretText) : undefined;

  const tokenVariables = Object.keys(env).filter((name) => name.startsWith('PATCHBAY_JWT_') && env[name]?.trim());
  if (!jwksUrl && !publicKeys.length && !hs256Secret) {
    if (tokenVariables.length) throw new ConfigError('PATCHBAY_JWT_JWKS_URL', `${tokenVariables[0]} is set but no key source is: set PATCHBAY_JWT_JWKS_URL, PATCHBAY_JWT_PUBLIC_KEYS or PATCHBAY_JWT_HS256_SECRET`);
    return undefined;
  }
  // A token from any issuer, or for any audience, would be a token for everyone.
  const issuers = list(env.PATCHBAY_JWT_ISSUER);
  if (!issuers.length) throw new ConfigError('PATCHBAY_JWT_ISSUER', 'is required when Bearer tokens are on: the issuer(s) whose tokens are accepted');
  const audiences = list(env.PATCHBAY_JWT_AUDIENCE);
  if (!audiences.length) throw new ConfigError('PATCHBAY_JWT_AUDIENCE', 'is required when Bearer tokens are on: the audience(s) a token must be meant for');

  const claimName = /^[A-Za-z0-9_:/.\-]{1,100}$/;
  const tenantClaims = env.PATCHBAY_JWT_TENANT_CLAIM?.trim() ? list(env.PATCHBAY_JWT_TENANT_CLAIM) : ['tenant_id'];
  if (tenantClaims.some((name) => !claimName.test(name))) throw new ConfigError('PATCHBAY_JWT_TENANT_CLAIM', 'must be comma-separated claim names');
  const scopeClaims = env.PATCHBAY_JWT_SCOPE_CLAIMS?.trim() ? list(env.PATCHBAY_JWT_SCOPE_CLAIMS) : ['scope', 'scp', 'permissions'];
  if (scopeClaims.some((name) => !claimName.test(name))) throw new ConfigError('PATCHBAY_JWT_SCOPE_CLAIMS', 'must be comma-separated claim names');

  const scopes = scopesOfSpec();
  const permissionMap = parsePermissionMap('PATCHBAY_JWT_PERMISSION_MAP', env.PATCHBAY_JWT_PERMISSION_MAP, new Set([...scopes.tenant, ...scopes.platform]));

  const platformText = env.PATCHBAY_JWT_PLATFORM_CLAIM?.trim();
  let platformClaim: TokenConfig['platformClaim'];
  if (platformText) {
    const match = /^([A-Za-z0-9_:/.\-]{1,100})=(\S{1,200})$/.exec(platformText);
    if (!match) throw new ConfigError('PATCHBAY_JWT_PLATFORM_CLAIM', 'must be claim=value (e.g. patchbay_role=platform)');
    if (tenantClaims.includes(match[1]!)) throw new ConfigError('PATCHBAY_JWT_PLATFORM_CLAIM', `names ${match[1]}, which is also a tenant claim`);
    platformClaim = { name: match[1]!, value: match[2]! };
  }

  return {
    jwksUrl,
    publicKeys,
    hs256Secret,
    issuers,
    audiences,
    tenantClaims,
    scopeClaims,
    permissionMap,
    platformClaim,
    clockSkewSeconds: whole('PATCHBAY_JWT_CLOCK_SKEW_SECONDS', env.PATCHBAY_JWT_CLOCK_SKEW_SECONDS, 30, 0, 300),
    jwksTimeoutMs: whole('PATCHBAY_JWT_JWKS_TIMEOUT_MS', env.PATCHBAY_JWT_JWKS_TIMEOUT_MS, 3000, 100, 30000),
    jwksCooldownSeconds: whole('PATCHBAY_JWT_JWKS_COOLDOWN_SECONDS', env.PATCHBAY_JWT_JWKS_COOLDOWN_SECONDS, 30, 0, 3600),
    jwksCacheSeconds: whole('PATCHBAY_JWT_JWKS_CACHE_SECONDS', env.PATCHBAY_JWT_JWKS_CACHE_SECONDS, 600, 1, 86400),
  };
}
