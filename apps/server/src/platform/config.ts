/**
 * Every environment variable the server reads, with its default, parsed once at start.
 * A bad value stops start-up with a message that names the variable.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { parseCorsOrigins } from '@patchbay/openapi-http';

export interface Config {
  /** HOST: the interface to listen on. Default 127.0.0.1. */
  host: string;
  /** PORT: the TCP port; 0 picks a free one. Default 3000. */
  port: number;
  /** LOG_LEVEL: pino level (fatal, error, warn, info, debug, trace, silent). Default info. */
  logLevel: string;
  /** NODE_ENV: `production` turns development conveniences off. */
  production: boolean;
  /** PATCHBAY_ADMIN_KEY: the bootstrap key, a platform principal for setting up (at least 24
   * characters; in production at least 32 random bytes). In development a random one is made
   * and printed when unset; in production it is required. Every use is logged. */
  adminKey: string;
  /** True when adminKey was generated because PATCHBAY_ADMIN_KEY was unset. */
  adminKeyGenerated: boolean;
  /** PATCHBAY_PUBLIC_URL: the URL clients reach the server at, for links. Default http://HOST:PORT. */
  publicUrl: string | undefined;
  /** DATABASE_URL: a PostgreSQL URL (postgres://...). Unset: the embedded PGlite under dataDir. */
  databaseUrl: string | undefined;
  /** PATCHBAY_DATA_DIR: where PGlite keeps its data and development keys. Default .data */
  dataDir: string;
  /** PATCHBAY_MASTER_KEY: the key-encryption key, base64 of 32 bytes (optionally `v<N>:`).
   * In development a key file is created under dataDir when unset; required in production. */
  masterKey: { version: number; key: Buffer } | undefined;
  /** PATCHBAY_CORS_ORIGINS: comma-separated origins a browser app may call from
   * (`https://app.example.com,http://localhost:5173`), or `*`. Default none: CORS off. */
  corsOrigins: readonly string[] | '*';
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A coarse check that a production bootstrap key carries about 256 bits: 43+ characters (32
 * bytes in base64) drawn from at least 20 distinct symbols. It refuses a word repeated to
 * length; it cannot prove randomness, which is why the README says how to make one.
 */
function looksRandom(key: string): boolean {
  return key.length >= 43 && new Set(key).size >= 20;
}

/** Reads the configuration from an environment (process.env by default). Throws ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const production = env.NODE_ENV === 'production';

  const host = env.HOST?.trim() || '127.0.0.1';
  if (!/^[A-Za-z0-9.:\-[\]]+$/.test(host)) throw new ConfigError('HOST', `'${host}' is not a host name or address`);

  const portText = env.PORT?.trim() || '3000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new ConfigError('PORT', `'${portText}' is not a port number (0-65535)`);

  const logLevel = env.LOG_LEVEL?.trim() || 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError('LOG_LEVEL', `'${logLevel}' is not one of ${LOG_LEVELS.join(', ')}`);

  let adminKey = env.PATCHBAY_ADMIN_KEY?.trim() ?? '';
  const adminKeyGenerated = adminKey === '';
  if (adminKeyGenerated) {
    if (production) throw new ConfigError('PATCHBAY_ADMIN_KEY', 'is required when NODE_ENV=production');
    adminKey = `pb_admin_${randomBytes(24).toString('base64url')}`;
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
  const dataDir = resolve(env.PATCHBAY_DATA_DIR?.trim() || '.data');

  const masterKeyText = env.PATCHBAY_MASTER_KEY?.trim();
  if (!masterKeyText && production) throw new ConfigError('PATCHBAY_MASTER_KEY', 'is required when NODE_ENV=production');
  const masterKey = masterKeyText ? parseMasterKey(masterKeyText) : undefined;

  const cors = parseCorsOrigins(env.PATCHBAY_CORS_ORIGINS);
  if ('error' in cors) throw new ConfigError('PATCHBAY_CORS_ORIGINS', cors.error);

  return { host, port, logLevel, production, adminKey, adminKeyGenerated, publicUrl, databaseUrl, dataDir, masterKey, corsOrigins: cors.origins };
}

/** Parses a key-encryption key: base64 of 32 bytes, optionally `v<N>:<base64>`. The value is
 * a secret: the error names the variable (or file), never the value. */
export function parseMasterKey(text: string, variable = 'PATCHBAY_MASTER_KEY'): { version: number; key: Buffer } {
  const match = /^(?:v(\d{1,6}):)?([A-Za-z0-9+/=_-]+)$/.exec(text.trim());
  const key = match ? Buffer.from(match[2]!, 'base64') : Buffer.alloc(0);
  if (!match || key.length !== 32) throw new ConfigError(variable, 'must be the base64 encoding of 32 random bytes (optionally prefixed with v<N>:)');
  return { version: match[1] ? Number(match[1]) : 1, key };
}
