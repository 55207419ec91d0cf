// The project's one way to connect to Redis, for shared ephemeral state (rate
// limits, CRDT snapshots): fail fast while Redis is down, reconnect quietly.
import { Redis } from "ioredis";
import { abortable } from "../abortable.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";

/** Options of {@linkcode connectRedis}. */
export interface ConnectRedisOptions {
  /** Where outages are reported, once each; JSON lines on stderr by default. */
  log?: Logger;
}

/**
 * A Redis connection for shared ephemeral state: it connects at once, and
 * while Redis is down its commands fail at once instead of queueing, so
 * callers can fail open; it reconnects with a backoff of up to 2 s.
 */
export function connectRedis(url: string, options: ConnectRedisOptions = {}): Redis {
  const log = options.log ?? createLogger({ component: "redis" });
  const redis = new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  });
  // Every reconnect attempt emits an error; one line per outage is enough.
  let down = false;
  redis.on("error", (error: Error) => {
    if (down) return;
    down = true;
    log.warn("redis unreachable; retrying", { error: `${error.name}: ${error.message}` });
  });
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    log.info("redis reachable again");
  });
  return redis;
}

/**
 * Resolves once `redis` is ready, waiting for a connection attempt under way
 * (a process that just connected) for up to `timeoutMs`; rejects at once
 * when Redis is known down, or when the attempt fails. For a read at start
 * that should not fail only because the connection is young.
 */
export async function redisReady(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status !== "connecting" && redis.status !== "connect" && redis.status !== "wait") {
    throw new Error(`Redis is ${redis.status}`);
  }
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  redis.once("ready", resolve);
  redis.once("error", reject);
  try {
    await abortable(promise, [AbortSignal.timeout(timeoutMs)]);
  } finally {
    redis.off("ready", resolve);
    redis.off("error", reject);
  }
}
