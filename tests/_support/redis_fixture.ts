// Each test's own key prefix on the real Redis, and fresh connections on it
// as separate edges would hold; every key under the prefix is deleted after.
import type { Redis } from "ioredis";
import { connectRedis } from "../../cluster/store/redis.ts";
import { RedisRateLimiter } from "../../edge/limits/redis_rate_limiter.ts";
import { deleteKeys, REDIS_URL, uniqueName } from "./services.ts";

/** What {@linkcode withRedis} hands a test. */
export interface Fixture {
  prefix: string;
  /** A fresh limiter over its own connection, as a separate edge would have. */
  limiter(ratePerSecond: number, burst: number): Promise<RedisRateLimiter>;
  redis(): Promise<Redis>;
}

/** Run `work` under a fresh key prefix, then delete its keys and close its connections. */
export async function withRedis(work: (fixture: Fixture) => Promise<void>): Promise<void> {
  const prefix = `${uniqueName("sbt")}:rl:`;
  const connections: Redis[] = [];
  const redis = async () => {
    const connection = connectRedis(REDIS_URL);
    connections.push(connection);
    // The connection refuses commands until it is ready.
    if (connection.status !== "ready") {
      await new Promise((ready) => connection.once("ready", ready));
    }
    return connection;
  };
  try {
    await work({
      prefix,
      limiter: async (ratePerSecond, burst) =>
        new RedisRateLimiter({ redis: await redis(), prefix, ratePerSecond, burst }),
      redis,
    });
  } finally {
    const [cleaner] = connections;
    if (cleaner) await deleteKeys(cleaner, `${prefix}*`);
    await Promise.all(connections.map((connection) => connection.quit()));
  }
}

/** The names of the commands `connection` sends from now on, in order. */
export function recordCommands(connection: Redis): string[] {
  const commands: string[] = [];
  const send = connection.sendCommand.bind(connection);
  connection.sendCommand = (command, ...rest) => {
    commands.push(command.name);
    return send(command, ...rest);
  };
  return commands;
}
