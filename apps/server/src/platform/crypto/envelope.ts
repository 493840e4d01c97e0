/**
 * Envelope encryption of a connection's credentials: AES-256-GCM under a fresh random data
 * key per write, the data key itself wrapped (AES-256-GCM) by the current KEK. The record's
 * id and tenant are the additional authenticated data, so a ciphertext moved to another row
 * does not decrypt. Layout of each blob: 12-byte IV | 16-byte tag | ciphertext. Rotation
 * re-wraps the data key alone (`rewrap`); the credentials' ciphertext is never reopened.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { KeyRing } from './keyring.js';

export interface SealedSecret {
  ciphertext: Buffer;
  wrappedKey: Buffer;
  keyVersion: number;
}

const IV_BYTES = 12;
// The GCM tag length is fixed, on both sides: a decipher that took any tag length a blob
// offered would accept a truncated (forgeable) tag.
const TAG_BYTES = 16;

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function open(key: Buffer, blob: Buffer, aad: Buffer): Buffer {
  if (blob.length < IV_BYTES + TAG_BYTES) throw new Error('sealed blob is shorter than its IV and tag');
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(blob.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(blob.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** A record that does not open under the key its row names: tampered, corrupted, or wrapped
 * by a key this process does not hold. Carries the version, never a value. */
export class UndecryptableError extends Error {
  constructor(readonly keyVersion: number, reason: 'missing_key' | 'authentication_failed') {
    super(reason === 'missing_key' ? `no key-encryption key of version ${keyVersion} is loaded` : `the record does not open under key version ${keyVersion}`);
    this.name = 'UndecryptableError';
  }
}

/** Wraps a secret of the platform itself (not a record's credentials) under the current KEK. */
export function wrapSecret(keys: KeyRing, secret: Buffer, purpose: string): { wrapped: Buffer; keyVersion: number } {
  return { wrapped: seal(keys.current.key, secret, Buffer.from(purpose)), keyVersion: keys.current.version };
}

export function unwrapSecret(keys: KeyRing, wrapped: Buffer, keyVersion: number, purpose: string): Buffer {
  const kek = keys.get(keyVersion);
  if (!kek) throw new UndecryptableError(keyVersion, 'missing_key');
  try {
    return open(kek, wrapped, Buffer.from(purpose));
  } catch {
    throw new UndecryptableError(keyVersion, 'authentication_failed');
  }
}

export class CredentialCipher {
  /**
   * @param fingerprintRoot a stable secret of its own (stored wrapped by the KEK, decision
   * 0021): fingerprints survive a rotation of the KEK.
   */
  constructor(
    private readonly keys: KeyRing,
    private readonly fingerprintRoot: Buffer,
  ) {}

  get currentVersion(): number {
    return this.keys.current.version;
  }

  encrypt(credentials: Record<string, string>, context: { tenantId: string; connectionId: string }): SealedSecret {
    const aad = Buffer.from(`${context.tenantId}/${context.connectionId}`);
    const dataKey = randomBytes(32);
    try {
      const ciphertext = seal(dataKey, Buffer.from(JSON.stringify(credentials), 'utf8'), aad);
      const wrappedKey = seal(this.keys.current.key, dataKey, aad);
      return { ciphertext, wrappedKey, keyVersion: this.keys.current.version };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Opens a record; an UndecryptableError (never garbage) when it does not open. */
  decrypt(sealed: SealedSecret, context: { tenantId: string; connectionId: string }): Record<string, string> {
    const aad = Buffer.from(`${context.tenantId}/${context.connectionId}`);
    const dataKey = this.unwrap(sealed.wrappedKey, sealed.keyVersion, aad);
    try {
      return JSON.parse(open(dataKey, sealed.ciphertext, aad).toString('utf8')) as Record<string, string>;
    } catch {
      throw new UndecryptableError(sealed.keyVersion, 'authentication_failed');
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * Re-wraps a record's data key under the current KEK: the data key is unwrapped and wrapped
   * again in memory; the credentials' ciphertext is never opened.
   */
  rewrap(wrappedKey: Buffer, keyVersion: number, context: { tenantId: string; connectionId: string }): { wrappedKey: Buffer; keyVersion: number } {
    const aad = Buffer.from(`${context.tenantId}/${context.connectionId}`);
    const dataKey = this.unwrap(wrappedKey, keyVersion, aad);
    try {
      return { wrappedKey: seal(this.keys.current.key, dataKey, aad), keyVersion: this.keys.current.version };
    } finally {
      dataKey.fill(0);
    }
  }

  private unwrap(wrappedKey: Buffer, keyVersion: number, aad: Buffer): Buffer {
    const kek = this.keys.get(keyVersion);
    if (!kek) throw new UndecryptableError(keyVersion, 'missing_key');
    try {
      return open(kek, wrappedKey, aad);
    } catch {
      throw new UndecryptableError(keyVersion, 'authentication_failed');
    }
  }

  /** A short, irreversible fingerprint of a secret value, stable within a tenant and across rotations. */
  fingerprint(value: string, tenantId: string): string {
    const tenantKey = Buffer.from(hkdfSync('sha256', this.fingerprintRoot, Buffer.from(tenantId), 'patchbay credential fingerprint', 32));
    return createHmac('sha256', tenantKey).update(value, 'utf8').digest('hex').slice(0, 16);
  }
}
