/** The expected failures of the key ring and of rotations, worded for operators. */
import { DomainError } from '../../platform/errors.js';

/** The configured keys cannot serve this store: start-up stops with this message (it names
 * key versions and variables, never a key). */
export class KeyRingRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyRingRefused';
  }
}

export const keyRingRefused = (message: string) => new KeyRingRefused(message);

export const keyRotationNotFound = (id: string) => new DomainError('not_found', `No key rotation ${id}.`);

export const keyRotationRunning = (id: string) =>
  new DomainError('conflict', `Key rotation ${id} is still running; follow it with GET /admin/v1/key-rotations/${id}.`, { details: { running_rotation_id: id } });
