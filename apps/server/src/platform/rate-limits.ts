/**
 * Where request counts live (issue 11; decision 0014). On PostgreSQL, in the `rate_limits`
 * table (migration 4), through rate-limiter-flexible's PostgreSQL store: one upsert per count,
 * atomic in the database, so a limit holds across every server process on that database. On
 * PGlite, which only one process can open, in memory. Knows nothing of HTTP: http/rate-limits.ts
 * turns a count into headers and 429s.
 */
import { CompiledQuery } from 'kysely';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RateLimit, RateLimits } from './config.js';
import type { Db } from './db/database.js';

/** The quotas the server counts; their names are the policy names clients see in `RateLimit-Policy`. */
export type RateLimitPolicy = 'per_key' | 'per_tenant' | 'failed_auth';

/** One count against a quota. */
export interface RateLimitCount {
  policy: RateLimitPolicy;
  limit: RateLimit;
  /** False once this request went beyond the quota. */
  allowed: boolean;
  /** What is left in the current window (0 when refused). */
  remaining: number;
  /** Seconds until the current window ends (at least 1). */
  resetSeconds: number;
}

export interface RateLimitCounter {
  /** The quotas in force, by policy; a policy that is off is absent. */
  readonly limits: Partial<Record<RateLimitPolicy, RateLimit>>;
  /** Counts one request of `subject` against `policy`; undefined when that policy is off. */
  consume: (policy: RateLimitPolicy, subject: string) => Promise<RateLimitCount | undefined>;
}

const POLICY_SETTINGS: Record<RateLimitPolicy, keyof RateLimits> = { per_key: 'perKey', per_tenant: 'perTenant', failed_auth: 'failedAuth' };

/** rate-limiter-flexible's PostgreSQL store talks to a `pg` client; this one runs its queries
 * through Kysely's pool instead, so the counts share the server's connections and its
 * PostgreSQL store never names a prepared statement (two limiters naming the same statement
 * with different SQL on one connection is an error in `pg`). */
function kyselyClient(db: Db) {
  return {
    query: async ({ text, values }: { text: string; values?: unknown[] }) => {
      const result = await db.executeQuery(CompiledQuery.raw(text, values ?? []));
      return { rows: result.rows, rowCount: result.numAffectedRows === undefined ? result.rows.length : Number(result.numAffectedRows) };
    },
  };
}

/**
 * The counter for a store. `db` is given on PostgreSQL (counts in the `rate_limits` table,
 * created by migration 4 under the migrations' lock rather than by the library at start, where
 * two processes starting at once race on CREATE TABLE); undefined on PGlite (memory).
 */
export function createRateLimitCounter(settings: RateLimits, db: Db | undefined): RateLimitCounter {
  const limiters = new Map<RateLimitPolicy, RateLimiterAbstract>();
  const limits: Partial<Record<RateLimitPolicy, RateLimit>> = {};
  for (const [policy, setting] of Object.entries(POLICY_SETTINGS) as [RateLimitPolicy, keyof RateLimits][]) {
    const limit = settings[setting];
    if (!limit) continue;
    limits[policy] = limit;
    const options = { keyPrefix: policy, points: limit.requests, duration: limit.seconds };
    limiters.set(
      policy,
      db
        ? new RateLimiterPostgres({
            ...options,
            storeClient: kyselyClient(db),
            storeType: 'client',
            tableName: 'rate_limits',
            tableCreated: true,
            // Expired rows are deleted hourly by the library (an unref'd timer).
            clearExpiredByTimeout: true,
            // While the database does not answer, count in this process's memory instead of
            // failing every request (the request will meet the database again in its handler).
            insuranceLimiter: new RateLimiterMemory(options),
          })
        : new RateLimiterMemory(options),
    );
  }
  return {
    limits,
    consume: async (policy, subject) => {
      const limiter = limiters.get(policy);
      const limit = limits[policy];
      if (!limiter || !limit) return undefined;
      let result: RateLimiterRes;
      let allowed = true;
      try {
        result = await limiter.consume(subject, 1);
      } catch (refusal) {
        // The library rejects with its result when the quota is spent, and with an Error when the store fails.
        if (!(refusal instanceof RateLimiterRes)) throw refusal;
        result = refusal;
        allowed = false;
      }
      return { policy, limit, allowed, remaining: allowed ? result.remainingPoints : 0, resetSeconds: Math.max(1, Math.ceil(result.msBeforeNext / 1000)) };
    },
  };
}
