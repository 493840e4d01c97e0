/**
 * The key ring: versioned key-encryption keys (KEKs) that wrap each record's data key, on the
 * model of Vault's transit engine. The current version wraps every new data key; older
 * versions only unwrap, until a rotation has re-wrapped every record under the current one
 * and a minimum decryption version retires them (decision 0021). Keys come from
 * PATCHBAY_MASTER_KEY and PATCHBAY_MASTER_KEYS_PREVIOUS, or in development from a key file
 * made on first start.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, chmodSync } from 'node:fs';
import { createHmac, randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { parseMasterKey } from '../config.js';

export interface VersionedKey {
  version: number;
  key: Buffer;
}

export interface KeyRing {
  current: VersionedKey;
  get(version: number): Buffer | undefined;
  /** The versions loaded, current included, lowest first. */
  versions(): number[];
  /** Drops every version below `version` (a retirement seen by this process). */
  retireBelow(version: number): void;
}

export function keyRingFrom(keys: VersionedKey[]): KeyRing {
  const byVersion = new Map(keys.map((k) => [k.version, k.key]));
  const current = keys.reduce((a, b) => (b.version > a.version ? b : a));
  return {
    current,
    get: (version) => byVersion.get(version),
    versions: () => [...byVersion.keys()].sort((a, b) => a - b),
    retireBelow: (version) => {
      for (const v of [...byVersion.keys()]) if (v < version && v !== current.version) byVersion.delete(v);
    },
  };
}

/**
 * A key's check value: an HMAC of a constant under the key, stored per version in the
 * database. It proves at start that a configured key is the one that wrapped the records
 * (a wrong key is refused before it can write anything) and reveals nothing about the key.
 */
export function keyCheckValue(key: VersionedKey): string {
  return createHmac('sha256', key.key).update(`patchbay key check value v${key.version}`).digest('hex').slice(0, 32);
}

/** A development key file's directory: created 0700, and tightened if it exists looser. */
function ensurePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/**
 * Writes a key file atomically: a temporary file of mode 0600 in the same directory, synced,
 * then renamed over the name, so a crash leaves either no file or a whole one.
 */
export function writeKeyFileAtomically(file: string, content: string): void {
  ensurePrivateDirectory(dirname(file));
  const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  const dirFd = openSync(dirname(file), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Why a development key file cannot be used; the message names the file, never a key. */
export class KeyFileError extends Error {}

/**
 * Development only: the key file under the data directory. Created on first start, but
 * only when the database holds nothing encrypted yet: a lost file with data behind it stops
 * start-up rather than quietly making a new key that cannot open the old records.
 */
export function loadOrCreateDevKey(file: string, options: { encryptedDataVersions: number[]; warn: (message: string) => void }): VersionedKey {
  if (existsSync(file)) {
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return parseMasterKey(readFileSync(file, 'utf8'), file);
  }
  if (options.encryptedDataVersions.length > 0) {
    throw new KeyFileError(
      `the development key file ${file} is missing, but the database holds data encrypted under key version ${options.encryptedDataVersions.join(', ')}; ` +
        'restore the file (or set PATCHBAY_MASTER_KEY to that key). No new key was made: it could not open the existing records.',
    );
  }
  writeKeyFileAtomically(file, `v1:${randomBytes(32).toString('base64')}\n`);
  options.warn(
    `PATCHBAY_MASTER_KEY is not set: created a development key-encryption key at ${file}. ` +
      'Credentials encrypted with it are lost if the file is lost. Set PATCHBAY_MASTER_KEY in production.',
  );
  return parseMasterKey(readFileSync(file, 'utf8'), file);
}
