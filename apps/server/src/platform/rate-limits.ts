/**
 * Where request counts live (issue 11; decisions 0016 and 0028). On PostgreSQL, in the
 * `rate_limits` table (migration 4): one upsert per count, atomic in the database, so a limit
 * holds across every server process on that database. An API key's two counts (per key, per
 * tenant) are upserts inside the key's own lookup statement (`inStatement`, used by the
 * tenants repository: one round trip for the key and both counts); the other counts (the
 * bootstrap key, tokens, failed authentication) go through rate-limiter-flexible's PostgreSQL
 * store, whose rows and window rules the statement shares. On PGlite, which only one process
 * can open, in memory. Knows nothing of HTTP: http/rate-limits.ts turns a count into headers
 * and 429s.
 */
import { CompiledQuery, sql, type RawBuilder } from 'kysely';
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
  /** On PostgreSQL only: counts as parts of another statement (see InStatementCounting). */
  readonly inStatement?: InStatementCounting;
}

/** A count's row as the upsert returns it: the points of the current window and when it ends (ms since the epoch). */
export interface CountRow {
  points: number | string;
  expire: number | string | null;
}

/**
 * Counting inside a caller's own statement, on PostgreSQL: `upsert` is an
 * `INSERT … ON CONFLICT DO UPDATE … RETURNING points, expire` for one policy, to use as a
 * data-modifying CTE (`subjects` is a query yielding the subject in a column `subject`, zero
 * or one row; none, nothing is counted); `countOf` reads its returned row. Exactly the
 * library's fixed-window rule, on the same rows (`<policy>:<subject>`), so both ways of
 * counting add to one count.
 */
export interface InStatementCounting {
  upsert: (policy: RateLimitPolicy, subjects: RawBuilder<unknown>, nowMs: number) => RawBuilder<unknown> | undefined;
  countOf: (policy: RateLimitPolicy, row: CountRow, nowMs: number) => RateLimitCount | undefined;
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

/** The rule of rate-limiter-flexible's PostgreSQL store (its `_upsert`), written out: a row
 * whose window has ended starts again at 1 with a new end; otherwise it counts one more. */
function upsertInStatement(policy: RateLimitPolicy, limit: RateLimit, subjects: RawBuilder<unknown>, nowMs: number): RawBuilder<unknown> {
  const prefix = `${policy}:`;
  return sql`INSERT INTO rate_limits AS r (key, points, expire)
    SELECT ${prefix} || s.subject, 1, ${nowMs + limit.seconds * 1000}::bigint FROM (${subjects}) AS s WHERE s.subject IS NOT NULL
    ON CONFLICT (key) DO UPDATE SET
      points = CASE WHEN r.expire <= ${nowMs}::bigint THEN 1 ELSE r.points + 1 END,
      expire = CASE WHEN r.expire <= ${nowMs}::bigint THEN EXCLUDED.expire ELSE r.expire END
    RETURNING points, expire`;
}

/** A returned row as the library reads its own (`_getRateLimiterRes`, then `consume`'s refusal above the quota). */
function countOfRow(policy: RateLimitPolicy, limit: RateLimit, row: CountRow, nowMs: number): RateLimitCount {
  const consumed = Number(row.points);
  const msBeforeNext = row.expire === null ? -1 : Math.max(Number(row.expire) - nowMs, 0);
  const allowed = consumed <= limit.requests;
  return { policy, limit, allowed, remaining: allowed ? Math.max(limit.requests - consumed, 0) : 0, resetSeconds: Math.max(1, Math.ceil(msBeforeNext / 1000)) };
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
    ...(db
      ? {
          inStatement: {
            upsert: (policy, subjects, nowMs) => {
              const limit = limits[policy];
              return limit ? upsertInStatement(policy, limit, subjects, nowMs) : undefined;
            },
            countOf: (policy, row, nowMs) => {
              const limit = limits[policy];
              return limit ? countOfRow(policy, limit, row, nowMs) : undefined;
            },
          } satisfies InStatementCounting,
        }
      : {}),
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
