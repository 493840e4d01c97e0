/**
 * Idempotency-Key on POST, kept in the database so that it holds across server processes.
 * The first request with a key claims it (in_flight) with a hash of what it asks; a retry
 * with the same key and the same request gets the first response back, with another
 * request a 422, and while the first is still running a 409. Only successful responses are
 * kept: a failure releases the key, so a corrected retry can go through.
 */
import type { Db } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { IdempotencyRepository } from './repository.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export class IdempotencyService {
  private readonly repository: IdempotencyRepository;

  constructor(db: Db) {
    this.repository = new IdempotencyRepository(db);
  }

  /** Runs `work` once per (scope, key); replays its stored reply to later identical requests. */
  async run(scope: string, key: string, operationId: string, hash: string, work: () => Promise<StoredReply>): Promise<StoredReply & { replayed: boolean }> {
    const now = new Date();
    await this.repository.deleteExpired(scope, key, new Date(now.getTime() - IDEMPOTENCY_TTL_MS));
    if (!(await this.repository.claim(scope, key, operationId, hash, now))) {
      const existing = await this.repository.find(scope, key);
      if (!existing) return this.run(scope, key, operationId, hash, work); // released meanwhile
      if (existing.operation !== operationId || existing.request_hash !== hash) {
        throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was first used with a different request; use a new key for a new request.');
      }
      if (existing.state === 'in_flight') {
        throw new DomainError('conflict', 'A request with this Idempotency-Key is still being processed; retry shortly.', { retryAfterSeconds: 1 });
      }
      return { status: existing.response_status!, headers: existing.response_headers ?? {}, body: existing.response_body, replayed: true };
    }

    let reply: StoredReply;
    try {
      reply = await work();
    } catch (error) {
      await this.repository.release(scope, key);
      throw error;
    }
    await this.repository.complete(scope, key, reply);
    return { ...reply, replayed: false };
  }
}
