/**
 * Envelope encryption of a connection's credentials: AES-256-GCM under a fresh random data
 * key per write, the data key itself wrapped (AES-256-GCM) by the current KEK. The record's
 * id and tenant are the additional authenticated data, so a ciphertext moved to another row
 * does not decrypt. Layout of each blob: 12-byte IV | 16-byte tag | ciphertext.
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

export class CredentialCipher {
  constructor(private readonly keys: KeyRing) {}

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

  decrypt(sealed: SealedSecret, context: { tenantId: string; connectionId: string }): Record<string, string> {
    const kek = this.keys.get(sealed.keyVersion);
    if (!kek) throw new Error(`no key-encryption key of version ${sealed.keyVersion} is loaded`);
    const aad = Buffer.from(`${context.tenantId}/${context.connectionId}`);
    const dataKey = open(kek, sealed.wrappedKey, aad);
    try {
      return JSON.parse(open(dataKey, sealed.ciphertext, aad).toString('utf8')) as Record<string, string>;
    } finally {
      dataKey.fill(0);
    }
  }

  /** A short, irreversible fingerprint of a secret value, stable within a tenant. */
  fingerprint(value: string, tenantId: string): string {
    const tenantKey = Buffer.from(hkdfSync('sha256', this.keys.current.key, Buffer.from(tenantId), 'patchbay credential fingerprint', 32));
    return createHmac('sha256', tenantKey).update(value, 'utf8').digest('hex').slice(0, 16);
  }
}
