/**
 * Every environment variable the server reads, with its default, parsed once at start.
 * A bad value stops start-up with a message that names the variable.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseCorsOrigins } from '@patchbay/openapi-http';
import { ConfigError } from './config-error.js';
import { loadTokenConfig, type TokenConfig } from './token-config.js';

export { ConfigError };
export type { TokenConfig };

export interface Config {
  /** Bearer tokens (PATCHBAY_JWT_*, see token-config.ts); undefined when no key source is set: every Bearer credential is then a 401. */
  tokens: TokenConfig | undefined;
  /** HOST: the interface to listen on. Default 127.0.0.1. */
  host: string;
  /** PORT: the TCP port; 0 picks a free one. Default 3000. */
  port: number;
  /** LOG_LEVEL: pino level (fatal, error, warn, info, debug, trace, silent). Default info. */
  logLevel: string;
  /** NODE_ENV: `production` requires DATABASE_URL (the embedded store is single-process) and a
   * random bootstrap key, and refuses development mode. */
  production: boolean;
  /** PATCHBAY_DEV=true or the `--dev` argument: development mode, asked for, never assumed
   * (decision 0022). Only then are a master key file and a bootstrap key generated and a
   * development tenant's key printed, and the server listens on a loopback address only. */
  development: boolean;
  /** PATCHBAY_ADMIN_KEY: the bootstrap key, a platform principal for setting up (at least 24
   * characters; in production at least 32 random bytes). In development a random one is made
   * and printed when unset. In production it may be left unset (undefined here) once a
   * platform key exists: main.ts refuses to start, naming the variable, when none does.
   * Every use is logged and audited. */
  adminKey: string | undefined;
  /** True when adminKey was generated because PATCHBAY_ADMIN_KEY was unset. */
  adminKeyGenerated: boolean;
  /** PATCHBAY_PUBLIC_URL: the URL clients reach the server at, for links. Default http://HOST:PORT. */
  publicUrl: string | undefined;
  /** DATABASE_URL: a PostgreSQL URL (postgres://...). Unset: the embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** PATCHBAY_DB_POOL_SIZE: how many connections each process opens to PostgreSQL at most
   * (ignored on PGlite, a single connection). Default 10: 20 measured up to a fifth faster under 50
   * connections, 40 no faster (docs/performance.md); 10 keeps several processes within PostgreSQL's default max_connections. */
  dbPoolSize: number;
  /** PATCHBAY_DATA_DIR: where PGlite keeps its data and development keys. Default .data */
  dataDir: string;
  /** PATCHBAY_MASTER_KEY: the key-encryption key, base64 of 32 bytes (optionally `v<N>:`).
   * In development a key file is created under dataDir when unset; required in production. */
  masterKey: { version: number; key: Buffer } | undefined;
  /** PATCHBAY_MASTER_KEYS_PREVIOUS: older key-encryption keys still allowed to decrypt
   * (comma-separated `v<N>:<base64>`, each of a version below the current one), kept until a
   * rotation has re-wrapped every record under the current key (decision 0021). Default none. */
  previousMasterKeys: { version: number; key: Buffer }[];
  /** PATCHBAY_CORS_ORIGINS: comma-separated origins a browser app may call from
   * (`https://app.example.com,http://localhost:5173`), or `*`. Default none: CORS off. */
  corsOrigins: readonly string[] | '*';
  /** PATCHBAY_CONNECT_RETURN_ORIGINS: the origins a connect session's return_url may have,
   * per tenant (`ten_...=https://app.example`) or for every tenant (a bare origin); space or
   * comma separated. Empty by default: no session can be created until it is set. */
  connectReturnOrigins: ReadonlyMap<string, readonly string[]>;
  /** Request rate limits (see RateLimits); each `off` or `<requests>/<seconds>s`. */
  rateLimits: RateLimits;
  /** PATCHBAY_TRUST_PROXY: which proxies' X-Forwarded-For names the client address (Express
   * `trust proxy`: a hop count, or comma-separated addresses/subnets). Default none: the
   * client address is the TCP peer's. */
  trustProxy: number | string[] | false;
  /** PATCHBAY_IDEMPOTENCY_LEASE_MS: how long a request holding an Idempotency-Key keeps it
   * before a retry may take it over (its process died). Default 30 s (decision 0020). */
  idempotencyLeaseMs: number;
  /** Webhook delivery (decision 0024); see WebhookConfig. */
  webhooks: WebhookConfig;
  /** PATCHBAY_TOTAL_COUNT_CAP: how many matches `include_total=true` counts exactly; beyond
   * it a list says `total_count_capped: true` with total_count the cap (a lower bound). A
   * count reads up to this many rows per request. Default 1000 (decision 0026). */
  totalCountCap: number;
}

/** PATCHBAY_TOTAL_COUNT_CAP's default: see Config.totalCountCap. */
export const TOTAL_COUNT_CAP_DEFAULT = 1000;

/** How webhooks are delivered. */
export interface WebhookConfig {
  /** PATCHBAY_WEBHOOK_RETRY_SCHEDULE: seconds to wait before each retry after the first
   * attempt, comma-separated; its length is the number of retries. Default
   * 5,300,1800,7200,18000,36000,36000 (about 27 hours, the Standard Webhooks schedule). Each
   * wait gets up to 10% of jitter. */
  retrySchedule: number[];
  /** PATCHBAY_WEBHOOK_TIMEOUT_MS: one attempt's time limit (connect to last byte). Default 10000. */
  timeoutMs: number;
  /** PATCHBAY_WEBHOOK_POLL_MS: how often a worker looks for due deliveries. Default 500. */
  pollMs: number;
}

/** A quota: at most `requests` in each window of `seconds`. */
export interface RateLimit {
  requests: number;
  seconds: number;
}

/** The rate limits, each undefined when turned off. Counted in PostgreSQL when the server runs
 * on DATABASE_URL (they hold across server processes), in memory on PGlite. */
export interface RateLimits {
  /** PATCHBAY_RATE_LIMIT_PER_KEY: requests one key (or the bootstrap key) may make. Default 3000/10s. */
  perKey: RateLimit | undefined;
  /** PATCHBAY_RATE_LIMIT_PER_TENANT: requests made inside one tenant, by all its keys and by
   * platform principals naming it. Default 6000/10s. */
  perTenant: RateLimit | undefined;
  /** PATCHBAY_RATE_LIMIT_FAILED_AUTH: requests with credentials that are not valid, per client
   * address; beyond it the address gets 429 whatever it presents. Default 600/60s. */
  failedAuth: RateLimit | undefined;
}

/** Defaults: far above what one client of this API needs, and above the project's own test
 * suite (hundreds of requests a second from one key on 2 cores); a deployment tightens them. */
export const RATE_LIMIT_DEFAULTS = { perKey: '3000/10s', perTenant: '6000/10s', failedAuth: '600/60s' } as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A coarse check that a production bootstrap key carries about 256 bits: 43+ characters (32
 * bytes in base64) drawn from at least 20 distinct symbols. It refuses a word repeated to
 * length; it cannot prove randomness, which is why the README says how to make one.
 */
function looksRandom(key: string): boolean {
  return key.length >= 43 && new Set(key).size >= 20;
}

/** Loopback names and addresses: where development mode may listen. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/** Reads the configuration from an environment (process.env by default) and the command-line
 * arguments (`--dev`). Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv.slice(2)): Config {
  const production = env.NODE_ENV === 'production';

  const devText = env.PATCHBAY_DEV?.trim().toLowerCase() ?? '';
  if (!['', 'true', 'false'].includes(devText)) throw new ConfigError('PATCHBAY_DEV', `'${devText}' is not true or false`);
  const development = devText === 'true' || argv.includes('--dev');
  if (development && production) throw new ConfigError('PATCHBAY_DEV', 'development mode (PATCHBAY_DEV=true or --dev) is refused when NODE_ENV=production');

  const host = env.HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new ConfigError('HOST', `'${host}' is not a host name or address`);
  // Development mode prints a full-scope key: it is never reachable from another machine.
  if (development && !isLoopbackHost(host)) throw new ConfigError('HOST', `'${host}' is not a loopback address; development mode listens on 127.0.0.1, ::1 or localhost only`);

  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ConfigError('PORT', `'${portText}' is not a port number (0-65535)`);

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `'${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);

  let adminKey: string | undefined = env.PATCHBAY_ADMIN_KEY?.trim() ?? '';
  const adminKeyGenerated = adminKey === '' && development;
  if (adminKey === '') {
    // Outside development mode: no bootstrap key at all; start-up then needs a platform key in the store.
    adminKey = development ? `pb_admin_${randomBytes(24).toString('base64url')}` : undefined;
  } else if (adminKey.length < 24 || /\s/.test(adminKey)) {
    // The value itself is a secret: the message never repeats it.
    throw new ConfigError('PATCHBAY_ADMIN_KEY', 'must be at least 24 characters with no white space');
  } else if (production && !looksRandom(adminKey)) {
    throw new ConfigError('PATCHBAY_ADMIN_KEY', 'must be at least 32 random bytes when NODE_ENV=production (43+ characters of base64, e.g. `openssl rand -base64 32`)');
  }

  const publicUrl = env.PATCHBAY_PUBLIC_URL?.trim() || undefined;
  if (publicUrl !== undefined && !URL.canParse(publicUrl)) throw new ConfigError('PATCHBAY_PUBLIC_URL', `'${publicUrl}' is not a URL`);

  const databaseUrl = env.DATABASE_URL?.trim() || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  }
  if (databaseUrl === undefined && production) {
    throw new ConfigError('DATABASE_URL', 'is required when NODE_ENV=production: the embedded PGlite store serves one process and is for development and tests');
  }
  const dbPoolSize = parseDbPoolSize(env.PATCHBAY_DB_POOL_SIZE);
  const dataDir = resolve(env.PATCHBAY_DATA_DIR?.trim() || '.data');

  const masterKeyText = env.PATCHBAY_MASTER_KEY?.trim();
  if (!masterKeyText && !development) {
    throw new ConfigError('PATCHBAY_MASTER_KEY', 'is required (v<N>:<base64 of 32 random bytes>) unless development mode (PATCHBAY_DEV=true or --dev) generates a key file');
  }
  const masterKey = masterKeyText ? parseMasterKey(masterKeyText) : undefined;
  const previousMasterKeys = parsePreviousMasterKeys(env.PATCHBAY_MASTER_KEYS_PREVIOUS, masterKey);

  const cors = parseCorsOrigins(env.PATCHBAY_CORS_ORIGINS);
  if ('error' in cors) throw new ConfigError('PATCHBAY_CORS_ORIGINS', cors.error);

  const rateLimits: RateLimits = {
    perKey: parseRateLimit('PATCHBAY_RATE_LIMIT_PER_KEY', env.PATCHBAY_RATE_LIMIT_PER_KEY ?? RATE_LIMIT_DEFAULTS.perKey),
    perTenant: parseRateLimit('PATCHBAY_RATE_LIMIT_PER_TENANT', env.PATCHBAY_RATE_LIMIT_PER_TENANT ?? RATE_LIMIT_DEFAULTS.perTenant),
    failedAuth: parseRateLimit('PATCHBAY_RATE_LIMIT_FAILED_AUTH', env.PATCHBAY_RATE_LIMIT_FAILED_AUTH ?? RATE_LIMIT_DEFAULTS.failedAuth),
  };
  const trustProxy = parseTrustProxy(env.PATCHBAY_TRUST_PROXY);
  const idempotencyLeaseMs = parseIdempotencyLease(env.PATCHBAY_IDEMPOTENCY_LEASE_MS);
  const webhooks = parseWebhookConfig(env);
  const totalCountCap = parseTotalCountCap(env.PATCHBAY_TOTAL_COUNT_CAP);

  const tokens = loadTokenConfig(env);

  const connectReturnOrigins = new Map<string, string[]>();
  for (const entry of (env.PATCHBAY_CONNECT_RETURN_ORIGINS ?? '').split(/[\s,]+/).filter(Boolean)) {
    const at = entry.indexOf('=');
    const tenant = at > 0 && !entry.slice(0, at).includes(':') ? entry.slice(0, at) : '*';
    const origin = tenant === '*' ? entry : entry.slice(at + 1);
    if (!URL.canParse(origin) || new URL(origin).origin !== origin) throw new ConfigError('PATCHBAY_CONNECT_RETURN_ORIGINS', `'${origin}' is not an origin (scheme://host[:port])`);
    connectReturnOrigins.set(tenant, [...(connectReturnOrigins.get(tenant) ?? []), origin]);
  }
  return { tokens, host, port, logLevel, production, development, adminKey, adminKeyGenerated, publicUrl, databaseUrl, dbPoolSize, dataDir, masterKey, previousMasterKeys, corsOrigins: cors.origins, rateLimits, trustProxy, idempotencyLeaseMs, webhooks, connectReturnOrigins, totalCountCap };
}

function parseTotalCountCap(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return TOTAL_COUNT_CAP_DEFAULT;
  const cap = Number(text.trim());
  if (!Number.isInteger(cap) || cap < 1 || cap > 1_000_000) throw new ConfigError('PATCHBAY_TOTAL_COUNT_CAP', 'must be a whole number from 1 to 1000000');
  return cap;
}

/** `off`, or `<requests>/<seconds>s` (`3000/10s`): a positive whole number of requests per window of whole seconds. */
export function parseRateLimit(variable: string, text: string): RateLimit | undefined {
  const value = text.trim();
  if (value === 'off') return undefined;
  const match = /^(\d{1,9})\/(\d{1,7})s$/.exec(value);
  const requests = match ? Number(match[1]) : 0;
  const seconds = match ? Number(match[2]) : 0;
  if (!match || requests < 1 || seconds < 1) throw new ConfigError(variable, `'${value}' is not a rate limit: write <requests>/<seconds>s (e.g. 3000/10s), or off`);
  return { requests, seconds };
}

function parseTrustProxy(text: string | undefined): number | string[] | false {
  const value = text?.trim();
  if (!value) return false;
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  if (entries.some((entry) => !/^[0-9A-Fa-f.:]+(\/\d{1,3})?$|^(loopback|linklocal|uniquelocal)$/.test(entry))) {
    throw new ConfigError('PATCHBAY_TRUST_PROXY', `'${value}' is not a hop count or a comma-separated list of addresses, subnets, loopback, linklocal or uniquelocal`);
  }
  return entries;
}

/** Parses a key-encryption key: base64 of 32 bytes, optionally `v<N>:<base64>`. The value is
 * a secret: the error names the variable (or file), never the value. */
export function parseMasterKey(text: string, variable = 'PATCHBAY_MASTER_KEY'): { version: number; key: Buffer } {
  const match = /^(?:v(\d{1,6}):)?([A-Za-z0-9+/=_-]+)$/.exec(text.trim());
  const key = match ? Buffer.from(match[2]!, 'base64') : Buffer.alloc(0);
  if (!match || key.length !== 32) throw new ConfigError(variable, 'must be the base64 encoding of 32 random bytes (optionally prefixed with v<N>:)');
  return { version: match[1] ? Number(match[1]) : 1, key };
}

/** PATCHBAY_MASTER_KEYS_PREVIOUS: `v<N>:<base64>` entries, comma-separated, each versioned
 * explicitly, distinct, and below the current key's version (they only decrypt). */
export function parsePreviousMasterKeys(text: string | undefined, current: { version: number } | undefined): { version: number; key: Buffer }[] {
  const variable = 'PATCHBAY_MASTER_KEYS_PREVIOUS';
  const entries = (text ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length && !current) throw new ConfigError(variable, 'needs PATCHBAY_MASTER_KEY (the current key) beside it');
  const keys = entries.map((entry) => {
    if (!/^v\d{1,6}:/.test(entry)) throw new ConfigError(variable, 'each entry must be v<N>:<base64 of 32 random bytes>');
    return parseMasterKey(entry, variable);
  });
  const versions = new Set<number>();
  for (const { version } of keys) {
    if (versions.has(version)) throw new ConfigError(variable, `names key version ${version} twice`);
    if (current && version >= current.version) throw new ConfigError(variable, `key version ${version} is not below the current version ${current.version} of PATCHBAY_MASTER_KEY`);
    versions.add(version);
  }
  return keys;
}

function parseDbPoolSize(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return DB_POOL_SIZE_DEFAULT;
  const size = Number(text.trim());
  if (!Number.isInteger(size) || size < 1 || size > 200) throw new ConfigError('PATCHBAY_DB_POOL_SIZE', 'must be a whole number of connections from 1 to 200');
  return size;
}

/** PATCHBAY_DB_POOL_SIZE's default: see Config.dbPoolSize. */
export const DB_POOL_SIZE_DEFAULT = 10;

function parseIdempotencyLease(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 30_000;
  const ms = Number(text.trim());
  if (!Number.isInteger(ms) || ms < 100 || ms > 3_600_000) throw new ConfigError('PATCHBAY_IDEMPOTENCY_LEASE_MS', 'must be a whole number of milliseconds from 100 to 3600000');
  return ms;
}

const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

function wholeMs(variable: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text.trim() === '') return fallback;
  const ms = Number(text.trim());
  if (!Number.isInteger(ms) || ms < min || ms > max) throw new ConfigError(variable, `must be a whole number of milliseconds from ${min} to ${max}`);
  return ms;
}

function parseWebhookConfig(env: NodeJS.ProcessEnv): WebhookConfig {
  const text = env.PATCHBAY_WEBHOOK_RETRY_SCHEDULE;
  let retrySchedule = DEFAULT_RETRY_SCHEDULE;
  if (text !== undefined && text.trim() !== '') {
    retrySchedule = text.split(',').map((part) => Number(part.trim()));
    if (retrySchedule.length > 20 || retrySchedule.some((s) => !Number.isFinite(s) || s < 0 || s > 604_800)) {
      throw new ConfigError('PATCHBAY_WEBHOOK_RETRY_SCHEDULE', 'must be at most 20 comma-separated numbers of seconds from 0 to 604800');
    }
  }
  return {
    retrySchedule,
    timeoutMs: wholeMs('PATCHBAY_WEBHOOK_TIMEOUT_MS', env.PATCHBAY_WEBHOOK_TIMEOUT_MS, 10_000, 100, 60_000),
    pollMs: wholeMs('PATCHBAY_WEBHOOK_POLL_MS', env.PATCHBAY_WEBHOOK_POLL_MS, 500, 10, 60_000),
  };
}
