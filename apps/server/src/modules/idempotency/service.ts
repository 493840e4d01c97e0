/**
 * Idempotency-Key on POST, kept in the database so that it holds across server processes
 * and crashes (decisions 0007 and 0020). The first request with a key claims it (in_flight)
 * with a keyed hash of what it asks, a claim token and a lease. Its reply is stored by the
 * use case's own transaction, just before it commits (`recordWithin`), so the change and
 * its reply commit or vanish together. A retry with the same key and the same request gets
 * the stored reply; with another request a 422; while the first is still running a 409;
 * once the first one's lease has lapsed (its process died, and with it its uncommitted
 * change) the retry takes the claim over and runs. A holder that lost its claim cannot
 * store its reply, and its change rolls back: never two executions. Only successful
 * replies are kept: a failure releases the key, so a corrected retry can go through.
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../../platform/db/database.js';
import { DomainError } from '../../platform/errors.js';
import { IdempotencyRepository, type ClaimRef } from './repository.js';
import { requestHash } from './request-hash.js';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** Expired rows deleted per sweep query, and queries per sweep: bounded work per tick. */
export const SWEEP_BATCH = 500;
const SWEEP_BATCHES_PER_TICK = 10;

export interface StoredReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What the use case's transaction calls to store the reply with its change. */
export type RecordReply = (tx: Db, reply: StoredReply, about?: { connectionId?: string }) => Promise<void>;

export interface IdempotencyOptions {
  /** The HMAC key of request hashes (derived from the master key in runtime.ts). */
  hashKey: Buffer;
  /** How long an in-flight claim holds before a retry may take it over. */
  leaseMs: number;
}

/** A 409 with Retry-After: 1 — also while a dead holder's lease runs out: the retry that
 * comes after it takes the claim over. */
const inFlight = () => new DomainError('conflict', 'A request with this Idempotency-Key is still being processed; retry shortly.', { retryAfterSeconds: 1 });

export class IdempotencyService {
  private readonly repository: IdempotencyRepository;

  constructor(
    db: Db,
    private readonly options: IdempotencyOptions,
  ) {
    this.repository = new IdempotencyRepository(db);
  }

  hash(operationId: string, path: unknown, body: unknown): string {
    return requestHash(this.options.hashKey, operationId, path, body);
  }

  /**
   * Runs `work` once per (scope, key); replays its stored reply to later identical requests.
   * `work` gets `record`, to call inside its transaction with the reply; when it does not
   * (a use case without a transaction of its own), the reply is stored after it returns.
   */
  async run(
    scope: string,
    key: string,
    operationId: string,
    hash: string,
    work: (record: RecordReply) => Promise<StoredReply>,
  ): Promise<StoredReply & { replayed: boolean }> {
    const claim: ClaimRef = { scope, key, token: randomUUID() };
    const { leaseMs } = this.options;
    await this.repository.deleteExpired(scope, key, IDEMPOTENCY_TTL_MS);
    if (!(await this.repository.claim(claim, operationId, hash, leaseMs))) {
      const existing = await this.repository.find(scope, key);
      if (!existing) return this.run(scope, key, operationId, hash, work); // released meanwhile
      if (existing.operation !== operationId || existing.request_hash !== hash) {
        throw new DomainError('idempotency_key_reused', 'This Idempotency-Key was first used with a different request; use a new key for a new request.');
      }
      if (existing.state === 'done') {
        return { status: existing.response_status!, headers: existing.response_headers ?? {}, body: existing.response_body, replayed: true };
      }
      const left = existing.lease_left_ms;
      if (left !== null && left > 0) throw inFlight();
      // The holder's lease lapsed: it died, and its change with it. Take the claim over (one taker wins).
      if (!(await this.repository.takeOver(claim, operationId, hash, leaseMs))) {
        return this.run(scope, key, operationId, hash, work); // finished, released or taken meanwhile
      }
    }

    let recorded = false;
    const record: RecordReply = async (tx, reply, about) => {
      if (!(await new IdempotencyRepository(tx).complete(claim, reply, about?.connectionId ?? null))) {
        // Our lease lapsed and a retry took the key over: our change must not commit beside its.
        throw inFlight();
      }
      recorded = true;
    };
    let reply: StoredReply;
    try {
      reply = await work(record);
    } catch (error) {
      await this.repository.release(claim);
      throw error;
    }
    if (!recorded && !(await this.repository.complete(claim, reply, null))) throw inFlight();
    return { ...reply, replayed: false };
  }

  /** Deletes a connection's stored replies, inside the transaction that archives it. */
  forgetConnection(tx: Db, scope: string, connectionId: string): Promise<void> {
    return new IdempotencyRepository(tx).forgetConnection(scope, connectionId);
  }

  /** Deletes expired keys, at most SWEEP_BATCH × SWEEP_BATCHES_PER_TICK; how many went. */
  async sweep(): Promise<number> {
    let total = 0;
    for (let i = 0; i < SWEEP_BATCHES_PER_TICK; i++) {
      const deleted = await this.repository.sweep(IDEMPOTENCY_TTL_MS, SWEEP_BATCH);
      total += deleted;
      if (deleted < SWEEP_BATCH) break;
    }
    return total;
  }
}
