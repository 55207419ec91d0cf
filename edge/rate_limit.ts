/**
 * Rate limits: the interface the edge asks before doing work for a caller,
 * and an in-process token bucket for a single process.
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
  /** The current time in epoch ms; `Date.now` by default. */
  now?: () => number;
}

/**
 * A token bucket per key, held in this process's memory. Buckets are kept for
 * every key seen, so keys should be few (tenants, not callers).
 */
export class TokenBucketLimiter implements RateLimiter {
  #buckets = new Map<string, { tokens: number; at: number }>();
  #options: Required<TokenBucketOptions>;

  constructor(options: TokenBucketOptions) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError("ratePerSecond must be positive and burst at least 1");
    }
    this.#options = { now: Date.now, ...options };
  }

  take(key: string): RateDecision {
    const { ratePerSecond, burst, now } = this.#options;
    const at = now();
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at };
    const tokens = Math.min(burst, bucket.tokens + ((at - bucket.at) / 1000) * ratePerSecond);
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at });
      return { allowed: false, retryAfterMs: Math.ceil(((1 - tokens) / ratePerSecond) * 1000) };
    }
    this.#buckets.set(key, { tokens: tokens - 1, at });
    return { allowed: true };
  }
}
