/**
 * Rate limits shared by every edge: a token bucket per key in Redis, taken
 * by one atomic script, so a caller gets the same allowance whichever edge
 * it reaches.
 *
 * @example
 * ```ts
 * const redis = connectRedis("redis://127.0.0.1:6379");
 * const limiter = new RedisRateLimiter({ redis, prefix: "sb:rl:", ratePerSecond: 50, burst: 100 });
 * await limiter.take("acme"); // { allowed: true }
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { abortable, abortedBy } from "../../cluster/abortable.ts";
import type { RateDecision, RateLimiter } from "./rate_limit.ts";

export { connectRedis, type ConnectRedisOptions } from "../../cluster/store/redis.ts";

/** Options of {@linkcode RedisRateLimiter}. */
export interface RedisRateLimiterOptions {
  /** A connection that fails fast while Redis is down, such as {@linkcode connectRedis}'s. */
  redis: Redis;
  /** Put before every key, e.g. `${cluster}:rl:`, so clusters sharing a Redis never meet. */
  prefix: string;
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle. */
  burst: number;
  /** How long to wait for Redis before giving up on a decision; 100 ms by default. */
  timeoutMs?: number;
}

// Time comes from Redis so that edges whose clocks disagree share one bucket
// fairly. A bucket left alone for burst / rate is full again, which is what a
// missing one means, so it may expire then. Answers 0 when the request may go
// ahead, else the ms until a token is due.
const takeScript = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or burst
local at = tonumber(bucket[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return wait
`;

const takeScriptSha = createHash("sha1").update(takeScript).digest("hex");

/**
 * A token bucket per key, kept in Redis. {@linkcode RedisRateLimiter.take}
 * rejects when Redis fails or does not answer within `timeoutMs`; the caller
 * decides what that means (the HTTP handler lets the request through, logs
 * and counts it).
 */
export class RedisRateLimiter implements RateLimiter {
  #redis: Redis;
  #prefix: string;
  #timeoutMs: number;
  /** Script arguments: tokens per ms, burst, and the bucket's time to live in ms. */
  #args: string[];

  constructor(options: RedisRateLimiterOptions) {
    const { ratePerSecond, burst } = options;
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError("ratePerSecond must be positive and burst at least 1");
    }
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#timeoutMs = options.timeoutMs ?? 100;
    const perMs = ratePerSecond / 1000;
    this.#args = [String(perMs), String(burst), String(Math.max(1, Math.ceil(burst / perMs)))];
  }

  /** Take a token from `key`'s bucket. */
  async take(key: string): Promise<RateDecision> {
    const wait = await this.#withinTimeout(this.#run(this.#prefix + key));
    return wait === 0 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
  }

  // EVALSHA spares sending the script each time; a Redis that has not seen it
  // yet (or was restarted) answers NOSCRIPT, and EVAL loads it.
  async #run(bucket: string): Promise<number> {
    try {
      return Number(await this.#redis.evalsha(takeScriptSha, 1, bucket, ...this.#args));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return Number(await this.#redis.eval(takeScript, 1, bucket, ...this.#args));
    }
  }

  async #withinTimeout<T>(work: Promise<T>): Promise<T> {
    const expired = AbortSignal.timeout(this.#timeoutMs);
    try {
      return await abortable(work, [expired]);
    } catch (error) {
      if (!abortedBy(error, expired)) throw error;
      throw new Error(`Redis did not answer within ${this.#timeoutMs} ms`);
    }
  }
}
