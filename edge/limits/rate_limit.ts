/**
 * Rate limits: the interfaces the edge asks before doing work for a caller
 * (one bucket per key, or several budgets spent in order), and in-process
 * token buckets for a single process.
 *
 * @module
 */

/** Whether one more request of a key may go ahead now. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Decides, per key, whether a request may go ahead. */
export interface RateLimiter {
  take(key: string): RateDecision | Promise<RateDecision>;
}

/** Options of {@linkcode TokenBucketLimiter}. */
export interface TokenBucketOptions {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle. */
  burst: number;
  /** The most keys whose buckets are held; 10,000 by default. */
  maxKeys?: number;
  /** The current time in epoch ms; `Date.now` by default. */
  now?: () => number;
}

/**
 * A token bucket per key, held in this process's memory, for as many keys as
 * callers or client addresses come: a bucket left alone until it is full
 * again is the same as none and is dropped, and past `maxKeys` the least
 * recently used go first (a flood of new keys can then refill an old one
 * early, but never grow the process).
 */
export class TokenBucketLimiter implements RateLimiter {
  /** In least recently used order: every take moves its key to the end. */
  #buckets = new Map<string, Bucket>();
  #options: Required<TokenBucketOptions>;
  /** How long an untouched bucket takes to fill up again, in ms. */
  #refillMs: number;
  #sweepEveryMs: number;
  #sweptAt: number;

  constructor(options: TokenBucketOptions) {
    assertRate(options);
    this.#options = { now: Date.now, maxKeys: 10_000, ...options };
    this.#refillMs = (options.burst / options.ratePerSecond) * 1000;
    this.#sweepEveryMs = Math.min(this.#refillMs, 1000);
    this.#sweptAt = this.#options.now();
  }

  /** How many buckets are held. */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string): RateDecision {
    const { ratePerSecond, burst, now } = this.#options;
    const at = now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at };
    const retryAfterMs = takeToken(bucket, at, ratePerSecond, burst);
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    this.#evict(at);
    return retryAfterMs === 0 ? { allowed: true } : { allowed: false, retryAfterMs };
  }

  // The oldest buckets sit first: drop them while they are full again or too
  // many. Full ones are looked for at most once a second: every take leaves
  // a deleted entry at the map's front that iteration steps over until the
  // map rehashes, so a scan per take costs more than the take.
  #evict(now: number): void {
    const { maxKeys } = this.#options;
    if (this.#buckets.size <= maxKeys && now - this.#sweptAt < this.#sweepEveryMs) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) {
      const full = now - bucket.at >= this.#refillMs;
      if (!full && this.#buckets.size <= maxKeys) return;
      this.#buckets.delete(key);
    }
  }
}

/** Throws a `RangeError` unless `ratePerSecond` is positive and `burst` at least 1. */
export function assertRate({ ratePerSecond, burst }: { ratePerSecond: number; burst: number }) {
  if (!(ratePerSecond > 0) || !(burst >= 1)) {
    throw new RangeError("ratePerSecond must be positive and burst at least 1");
  }
}

/** One bucket a request spends from: its key, and how it refills. */
export interface Budget {
  key: string;
  /** Sustained requests per second. */
  ratePerSecond: number;
  /** Requests at once after being idle. */
  burst: number;
}

/** The outcome of spending from budgets in order; `refused` is the index of the one that had none. */
export type BudgetDecision =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; refused: number };

/**
 * Spends one token of each budget in order, up to the first that has none;
 * the budgets after that one are not touched.
 */
export interface BudgetBank {
  spend(budgets: readonly Budget[]): BudgetDecision | Promise<BudgetDecision>;
}

/** A budget to lease from, and how many of its tokens are wanted. */
export interface LeaseRequest extends Budget {
  /** At least one; fewer are granted when fewer are there. */
  want: number;
}

/**
 * The outcome of leasing from budgets in order: `granted[i]` tokens of
 * budget i (at least one each), for every budget before the one that refused.
 */
export type LeaseDecision =
  | { allowed: true; granted: number[] }
  | { allowed: false; retryAfterMs: number; refused: number; granted: number[] };

/**
 * Hands out several tokens of each budget at once, in order, up to the first
 * that has none: what a {@linkcode BudgetBank} shared by many processes
 * offers so that each can spend from a lease of its own.
 */
export interface BudgetLender {
  lease(budgets: readonly LeaseRequest[]): Promise<LeaseDecision>;
}

/** A {@linkcode BudgetBank} in this process's memory: a {@linkcode TokenBucketLimiter} per rate. */
export class MemoryBudgetBank implements BudgetBank {
  #limiters = new Map<string, TokenBucketLimiter>();
  #options: Omit<TokenBucketOptions, "ratePerSecond" | "burst">;

  constructor(options: Omit<TokenBucketOptions, "ratePerSecond" | "burst"> = {}) {
    this.#options = options;
  }

  spend(budgets: readonly Budget[]): BudgetDecision {
    for (let i = 0; i < budgets.length; i++) {
      const { key, ratePerSecond, burst } = budgets[i];
      const rate = `${ratePerSecond}/${burst}`;
      let limiter = this.#limiters.get(rate);
      if (!limiter) {
        limiter = new TokenBucketLimiter({ ...this.#options, ratePerSecond, burst });
        this.#limiters.set(rate, limiter);
      }
      const decision = limiter.take(key);
      if (!decision.allowed) return { ...decision, refused: i };
    }
    return { allowed: true };
  }
}

/** A token bucket's state: tokens left as of `at` (epoch ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Refill `bucket` up to `now` and take one token from it: 0 when one was
 * there, else the ms until one will be. Updates `bucket` in place.
 */
export function takeToken(
  bucket: Bucket,
  now: number,
  ratePerSecond: number,
  burst: number,
): number {
  bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * ratePerSecond);
  bucket.at = now;
  if (bucket.tokens < 1) return Math.ceil(((1 - bucket.tokens) / ratePerSecond) * 1000);
  bucket.tokens--;
  return 0;
}
