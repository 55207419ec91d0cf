// Where the real services the integration tests use live, and unique names
// per run so concurrent suites sharing them never collide.
import { Redis } from "ioredis";
import postgres from "postgres";

/** The Postgres server of the integration tests. */
export const DATABASE_URL = Deno.env.get("SB_TEST_DATABASE_URL") ??
  "postgres://postgres@127.0.0.1:5432/postgres";
/** The NATS server of the integration tests. */
export const NATS_URL = Deno.env.get("SB_TEST_NATS_URL") ?? "nats://127.0.0.1:4222";
/** The Redis server of the integration tests. */
export const REDIS_URL = Deno.env.get("SB_TEST_REDIS_URL") ?? "redis://127.0.0.1:6379";

/** A name unique to this call: a schema, a cluster (NATS subject) or Redis key prefix. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Drop a test schema and everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
  } finally {
    await sql.end();
  }
}

/** Delete every Redis key matching `pattern` (a `SCAN` pattern such as `cluster:*`). */
export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  for await (const keys of redis.scanStream({ match: pattern, count: 1000 })) {
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  }
}

/** Delete every key of `cluster` (its prefix) from the tests' Redis. */
export async function deleteClusterKeys(cluster: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await deleteKeys(redis, `${cluster}:*`);
  } finally {
    redis.disconnect();
  }
}

/** The store with some methods replaced, the rest bound to the original. */
export function overrideStore<S extends object>(store: S, overrides: Partial<S>): S {
  return new Proxy(store, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof S];
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
