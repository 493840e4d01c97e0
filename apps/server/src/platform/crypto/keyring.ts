/**
 * The key-encryption keys (KEKs) that wrap each record's data key. A KEK has a version;
 * each record stores the version that wrapped it, so rotation can add a version and
 * re-wrap records online. Keys come from PATCHBAY_MASTER_KEY (base64 of 32 bytes, optionally
 * `v<N>:<base64>`), or in development from a key file made on first start.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { parseMasterKey } from '../config.js';

export interface KeyRing {
  current: { version: number; key: Buffer };
  get(version: number): Buffer | undefined;
}

export function keyRingFrom(keys: { version: number; key: Buffer }[]): KeyRing {
  const byVersion = new Map(keys.map((k) => [k.version, k.key]));
  const current = keys.reduce((a, b) => (b.version > a.version ? b : a));
  return { current, get: (version) => byVersion.get(version) };
}

/** Development only: a key file under the data directory, created on first start. */
export function loadOrCreateDevKey(file: string, warn: (message: string) => void): { version: number; key: Buffer } {
  if (existsSync(file)) return parseMasterKey(readFileSync(file, 'utf8'), file);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  warn(
    `PATCHBAY_MASTER_KEY is not set: created a development key-encryption key at ${file}. ` +
      'Credentials encrypted with it are lost if the file is lost. Set PATCHBAY_MASTER_KEY in production.',
  );
  return parseMasterKey(readFileSync(file, 'utf8'), file);
}
