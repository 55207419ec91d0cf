/**
 * Rate limits shared by every edge: token buckets in Redis, spent by one
 * atomic script, so a caller gets the same allowance whichever edge it
 * reaches, and a request spends all of its budgets in one round trip.
 *
 * @example
 * ```ts
 * const redis = connectRedis("redis://127.0.0.1:6379");
 * const limiter = new RedisRateLimiter({ redis, prefix: "sb:rl:", ratePerSecond: 50, burst: 100 });
 * await limiter.take("acme"); // { allowed: true }
 * const bank = new RedisBudgetBank({ redis, prefix: "sb:" });
 * await bank.spend([
 *   { key: "caller:alice", ratePerSecond: 5, burst: 10 },
 *   { key: "tenant:acme", ratePerSecond: 50, burst: 100 },
 * ]); // { allowed: true }
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import { withinTimeout } from "../../cluster/abortable.ts";
import {
  assertRate,
  type Budget,
  type BudgetBank,
  type BudgetDecision,
  type BudgetLender,
  type LeaseDecision,
  type LeaseRequest,
  type RateDecision,
  type RateLimiter,
} from "./rate_limit.ts";

export { connectRedis, type ConnectRedisOptions } from "../../cluster/store/redis.ts";

/** Options of {@linkcode RedisBudgetBank}. */
export interface RedisBudgetBankOptions {
  /** A connection that fails fast while Redis is down, such as {@linkcode connectRedis}'s. */
  redis: Redis;
  /** Put before every key, e.g. `${cluster}:`, so clusters sharing a Redis never meet. */
  prefix: string;
  /** How long to wait for Redis before giving up on a decision; 100 ms by default. */
  timeoutMs?: number;
}

/** Options of {@linkcode RedisRateLimiter}. */
export interface RedisRateLimiterOptions extends RedisBudgetBankOptions {
  /** Sustained requests per second per key. */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle. */
  burst: number;
}

// Time comes from Redis so that edges whose clocks disagree share one bucket
// fairly. A bucket left alone for burst / rate is full again, which is what a
// missing one means, so it may expire then. ARGV holds, per key, tokens per
// ms, burst, time to live in ms and the tokens wanted (a lease: all of them
// that are there, at least one). Answers {0, 0, granted...} when every bucket
// had a token, else {i, ms until a token is due, granted...} for the first,
// KEYS[i], that had none; the buckets after it are left as they were.
const takeScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local answer = {0, 0}
for i, key in ipairs(KEYS) do
  local rate = tonumber(ARGV[4 * i - 3])
  local burst = tonumber(ARGV[4 * i - 2])
  local want = tonumber(ARGV[4 * i])
  local bucket = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(bucket[1]) or burst
  local at = tonumber(bucket[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
  local wait = 0
  if tokens >= 1 then
    local granted = math.min(want, math.floor(tokens))
    tokens = tokens - granted
    answer[i + 2] = granted
  else
    wait = math.ceil((1 - tokens) / rate)
  end
  redis.call('HSET', key, 'tokens', tokens, 'at', now)
  redis.call('PEXPIRE', key, ARGV[4 * i - 1])
  if wait > 0 then
    answer[1] = i
    answer[2] = wait
    return answer
  end
end
return answer
`;

const takeScriptSha = createHash("sha1").update(takeScript).digest("hex");

/**
 * Budgets kept in Redis. {@linkcode RedisBudgetBank.spend} rejects when Redis
 * fails or does not answer within `timeoutMs`; the caller decides what that
 * means (the HTTP handler lets the request through, logs and counts it).
 */
export class RedisBudgetBank implements BudgetBank, BudgetLender {
  #redis: Redis;
  #prefix: string;
  #timeoutMs: number;

  constructor(options: RedisBudgetBankOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#timeoutMs = options.timeoutMs ?? 100;
  }

  async spend(budgets: readonly Budget[]): Promise<BudgetDecision> {
    const decision = await this.lease(budgets.map((budget) => ({ ...budget, want: 1 })));
    return decision.allowed ? { allowed: true } : {
      allowed: false,
      retryAfterMs: decision.retryAfterMs,
      refused: decision.refused,
    };
  }

  async lease(budgets: readonly LeaseRequest[]): Promise<LeaseDecision> {
    if (budgets.length === 0) return { allowed: true, granted: [] };
    const keys = budgets.map((budget) => this.#prefix + budget.key);
    const args = budgets.flatMap(({ ratePerSecond, burst, want }) => {
      const perMs = ratePerSecond / 1000;
      const ttl = Math.max(1, Math.ceil(burst / perMs));
      return [String(perMs), String(burst), String(ttl), String(Math.max(1, Math.floor(want)))];
    });
    const [refused, wait, ...granted] = await withinTimeout(
      this.#run(keys, args),
      this.#timeoutMs,
      () => new Error(`Redis did not answer within ${this.#timeoutMs} ms`),
    );
    return refused === 0
      ? { allowed: true, granted }
      : { allowed: false, retryAfterMs: wait, refused: refused - 1, granted };
  }

  // EVALSHA spares sending the script each time; a Redis that has not seen it
  // yet (or was restarted) answers NOSCRIPT, and EVAL loads it.
  async #run(keys: string[], args: string[]): Promise<number[]> {
    let answer;
    try {
      answer = await this.#redis.evalsha(takeScriptSha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      answer = await this.#redis.eval(takeScript, keys.length, ...keys, ...args);
    }
    return (answer as unknown[]).map(Number);
  }
}

/** A token bucket per key at one rate, kept in Redis (a {@linkcode RedisBudgetBank} of one). */
export class RedisRateLimiter implements RateLimiter {
  #bank: RedisBudgetBank;
  #rate: Omit<Budget, "key">;

  constructor(options: RedisRateLimiterOptions) {
    assertRate(options);
    const { ratePerSecond, burst } = options;
    this.#bank = new RedisBudgetBank(options);
    this.#rate = { ratePerSecond, burst };
  }

  /** Take a token from `key`'s bucket. */
  async take(key: string): Promise<RateDecision> {
    const decision = await this.#bank.spend([{ key, ...this.#rate }]);
    return decision.allowed ? decision : { allowed: false, retryAfterMs: decision.retryAfterMs };
  }
}
