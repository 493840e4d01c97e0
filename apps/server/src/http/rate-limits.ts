/**
 * Rate limits (issue 11): per key, per tenant, and for failed authentication per client
 * address. Runs right after authenticate() (it needs the principal) and before the validators,
 * so every request a principal makes counts, valid or not. Answers with the IETF httpapi
 * draft's fields (draft-ietf-httpapi-ratelimit-headers-11, structured fields):
 *
 *   RateLimit-Policy: "per_key";q=3000;w=10, "per_tenant";q=6000;w=10
 *   RateLimit: "per_key";r=2999;t=7, "per_tenant";r=5999;t=7
 *
 * on every response of a counted request, and beyond a quota with a `rate_limited` 429 problem
 * and Retry-After. The public probes (/healthz, /readyz) are never counted. Counts live in
 * platform/rate-limits.ts (PostgreSQL or memory). On PostgreSQL an API key's two counts are
 * taken by authenticate() in the key's own lookup statement (decision 0028: one round trip,
 * not three); this middleware then only answers with them.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { HttpProblem } from '@patchbay/openapi-http';
import type { InStatementCounting, RateLimitCount, RateLimitCounter } from '../platform/rate-limits.js';

/** Addresses blocked for failed authentication, remembered by this process until their window
 * ends: a blocked address gets 429 whatever it presents, so a right guess cannot be told from
 * a wrong one. Bounded, so that many addresses cannot grow it without end. */
class BlockedAddresses {
  private readonly until = new Map<string, number>();
  constructor(private readonly max = 10_000) {}

  block(address: string, seconds: number): void {
    if (this.until.size >= this.max) this.prune();
    if (this.until.size >= this.max) this.until.delete(this.until.keys().next().value!);
    this.until.set(address, Date.now() + seconds * 1000);
  }

  /** Seconds left, or 0 when the address is not blocked. */
  secondsLeft(address: string): number {
    const until = this.until.get(address);
    if (until === undefined) return 0;
    const left = until - Date.now();
    if (left <= 0) {
      this.until.delete(address);
      return 0;
    }
    return Math.ceil(left / 1000);
  }

  private prune(): void {
    const now = Date.now();
    for (const [address, until] of this.until) if (until <= now) this.until.delete(address);
  }
}

/** `RateLimit-Policy` for the quotas a request was counted against. */
function policyField(counts: RateLimitCount[]): string {
  return counts.map((c) => `"${c.policy}";q=${c.limit.requests};w=${c.limit.seconds}`).join(', ');
}

/** `RateLimit`: what is left of each quota and when its window ends. */
function limitField(counts: RateLimitCount[]): string {
  return counts.map((c) => `"${c.policy}";r=${c.remaining};t=${c.resetSeconds}`).join(', ');
}

function setFields(res: Response, counts: RateLimitCount[]): void {
  if (counts.length === 0) return;
  res.setHeader('RateLimit-Policy', policyField(counts));
  res.setHeader('RateLimit', limitField(counts));
}

const WHAT: Record<RateLimitCount['policy'], string> = {
  per_key: 'this API key',
  per_tenant: 'this tenant',
  failed_auth: 'requests with credentials that are not valid from this address',
};

function tooMany(refused: RateLimitCount[]): HttpProblem {
  const retryAfter = Math.max(...refused.map((c) => c.resetSeconds));
  const names = refused.map((c) => `${WHAT[c.policy]} (${c.limit.requests} per ${c.limit.seconds} s)`).join(' and ');
  return new HttpProblem(
    'rate_limited',
    `The rate limit of ${names} is reached; retry after ${retryAfter} s.`,
    undefined,
    { violated_policies: refused.map((c) => c.policy) },
    { 'Retry-After': String(retryAfter) },
  );
}

export interface RateLimitOptions {
  counter: RateLimitCounter;
  /** Paths never counted: the public operations (probes). */
  publicPaths: ReadonlySet<string>;
}

export interface RateLimiting {
  /** For authenticate(): the way to count this request inside the API key's lookup statement
   * (PostgreSQL), or undefined when it is not to be counted there (a public path, an address
   * blocked for failed authentication, a store that counts in memory). */
  inKeyLookup: (req: Request) => InStatementCounting | undefined;
  /** For authenticate(): the counts its lookup took for the principal it found. */
  countedInKeyLookup: (req: Request, counts: RateLimitCount[]) => void;
  /** Middleware, after authenticate(): counts the request (unless the lookup did) and refuses it beyond a quota. */
  middleware: RequestHandler;
}

const addressOf = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** The rate limits' two halves: the hook authenticate() counts through, and the middleware. */
export function rateLimiting({ counter, publicPaths }: RateLimitOptions): RateLimiting {
  const blocked = new BlockedAddresses();
  const lookupCounts = new WeakMap<Request, RateLimitCount[]>();
  return {
    inKeyLookup: (req) => {
      if (!counter.inStatement || publicPaths.has(req.path)) return undefined;
      if (counter.limits.failed_auth && blocked.secondsLeft(addressOf(req)) > 0) return undefined;
      return counter.inStatement;
    },
    countedInKeyLookup: (req, counts) => void lookupCounts.set(req, counts),
    middleware: middleware(counter, publicPaths, blocked, lookupCounts),
  };
}

/** The middleware alone (its counts all taken here). */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  return rateLimiting(options).middleware;
}

function middleware(counter: RateLimitCounter, publicPaths: ReadonlySet<string>, blocked: BlockedAddresses, lookupCounts: WeakMap<Request, RateLimitCount[]>): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (publicPaths.has(req.path)) return next();
    const address = addressOf(req);
    try {
      const principal = req.principal;
      const presented = req.get('x-api-key') !== undefined || req.get('authorization') !== undefined;
      const failedAuth = counter.limits.failed_auth;
      const blockedFor = failedAuth ? blocked.secondsLeft(address) : 0;
      if (failedAuth && blockedFor > 0 && presented) {
        const count: RateLimitCount = { policy: 'failed_auth', limit: failedAuth, allowed: false, remaining: 0, resetSeconds: blockedFor };
        setFields(res, [count]);
        return next(tooMany([count]));
      }
      const counted = principal ? lookupCounts.get(req) : undefined;
      const counts: RateLimitCount[] = counted ? [...counted] : [];
      if (counted) {
        // Counted by the key's lookup statement (authenticate()).
      } else if (!principal) {
        // Credentials were presented and none was accepted: a failed authentication.
        if (presented) {
          const count = await counter.consume('failed_auth', address);
          if (count) {
            counts.push(count);
            if (!count.allowed) blocked.block(address, count.resetSeconds);
          }
        }
      } else {
        const [perKey, perTenant] = await Promise.all([
          counter.consume('per_key', principal.keyId ?? (principal.via === 'token' ? `token:${principal.kind === 'tenant' ? principal.tenantId : 'platform'}:${principal.subject}` : `bootstrap`)),
          principal.tenantId === undefined ? undefined : counter.consume('per_tenant', principal.tenantId),
        ]);
        if (perKey) counts.push(perKey);
        if (perTenant) counts.push(perTenant);
      }
      setFields(res, counts);
      const refused = counts.filter((c) => !c.allowed);
      if (refused.length) return next(tooMany(refused));
      next();
    } catch (error) {
      // Even the in-memory fallback failed: counting must not take the API down with it.
      req.log.warn({ err: { message: (error as Error).message } }, 'rate limit not counted');
      next();
    }
  };
}
