/**
 * Idempotency-Key on POST, kept in the database so that it holds across server processes.
 * The first request with a key claims it (in_flight) with a hash of what it asks; a retry
 * with the same key and the same request gets the first response back, with another
 * request a 422, and while the first is still running a 409. Only successful responses are
 * kept: a failure releases the key, so a corrected retry can go through.
 */
import { createHash } from 'node:crypto';
import type { Db } from '../store/database.js';
import { HttpProblem } from '@patchbay/openapi-http';

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** Canonical JSON: object keys sorted, so that key order does not change the hash. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value as Record<string, unknown>)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

export function requestHash(operationId: string, path: unknown, body: unknown): string {
  return createHash('sha256').update(canonical([operationId, path, body])).digest('hex');
}

export class IdempotencyStore {
  constructor(private readonly db: Db) {}

  /** Runs `work` once per (scope, key); replays its stored reply to later identical requests. */
  async run(scope: string, key: string, operationId: string, hash: string, work: () => Promise<StoredReply>): Promise<StoredReply & { replayed: boolean }> {
    const now = new Date();
    await this.db.deleteFrom('idempotency_keys').where('tenant_id', '=', scope).where('key', '=', key).where('created_at', '<', new Date(now.getTime() - IDEMPOTENCY_TTL_MS)).execute();
    const claimed = await this.db
      .insertInto('idempotency_keys')
      .values({ tenant_id: scope, key, operation: operationId, request_hash: hash, state: 'in_flight', response_status: null, response_headers: JSON.stringify(null), response_body: JSON.stringify(null), created_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();

    if (!claimed) {
      const existing = await this.db.selectFrom('idempotency_keys').selectAll().where('tenant_id', '=', scope).where('key', '=', key).executeTakeFirst();
      if (!existing) return this.run(scope, key, operationId, hash, work); // released meanwhile
      if (existing.operation !== operationId || existing.request_hash !== hash) {
        throw new HttpProblem('idempotency_key_reused', 'This Idempotency-Key was first used with a different request; use a new key for a new request.');
      }
      if (existing.state === 'in_flight') {
        throw new HttpProblem('conflict', 'A request with this Idempotency-Key is still being processed; retry shortly.', undefined, {}, { 'Retry-After': '1' });
      }
      return { status: existing.response_status!, headers: existing.response_headers ?? {}, body: existing.response_body, replayed: true };
    }

    let reply: StoredReply;
    try {
      reply = await work();
    } catch (error) {
      await this.release(scope, key);
      throw error;
    }
    await this.db
      .updateTable('idempotency_keys')
      .set({ state: 'done', response_status: reply.status, response_headers: JSON.stringify(reply.headers), response_body: JSON.stringify(reply.body ?? null) })
      .where('tenant_id', '=', scope)
      .where('key', '=', key)
      .execute();
    return { ...reply, replayed: false };
  }

  private async release(scope: string, key: string): Promise<void> {
    await this.db.deleteFrom('idempotency_keys').where('tenant_id', '=', scope).where('key', '=', key).execute();
  }
}
