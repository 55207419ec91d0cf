/**
 * {@linkcode SnapshotStore} in Redis: one key per data set and tenant,
 * `<cluster>:crdt:<data set>:<tenant>` with the tenant percent-encoded (so no
 * tenant id can reach into another's key or form a pattern), holding the
 * state's MessagePack encoding. Keys expire after `ttlSeconds` without a
 * write, so tenants that went away do not stay forever.
 *
 * @example
 * ```ts ignore
 * const snapshots = new RedisSnapshots({ redis: connectRedis(url), cluster: "sb" });
 * new Replicator({ ...options, snapshots });
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Redis } from "ioredis";
import { redisReady } from "../store/redis.ts";
import type { SnapshotStore } from "./snapshot_store.ts";

/** Options of {@linkcode RedisSnapshots}. */
export interface RedisSnapshotsOptions {
  /** A connection that fails fast while Redis is down (cluster/store/redis.ts). */
  redis: Redis;
  /** The cluster's name (`SB_CLUSTER`), the keys' prefix. */
  cluster: string;
  /** How long a snapshot nobody rewrites is kept. @default 604_800 (a week) */
  ttlSeconds?: number;
}

/** Snapshots of replicated states in Redis. */
export class RedisSnapshots implements SnapshotStore {
  readonly #redis: Redis;
  readonly #cluster: string;
  readonly #ttlSeconds: number;

  constructor(options: RedisSnapshotsOptions) {
    this.#redis = options.redis;
    this.#cluster = options.cluster;
    this.#ttlSeconds = options.ttlSeconds ?? 604_800;
  }

  /** Waits up to a second for a connection still being made (a process just started). */
  async load(dataSet: string, tenants?: readonly string[]): Promise<[string, Uint8Array][]> {
    await redisReady(this.#redis);
    const keys = tenants?.map((tenant) => this.#key(dataSet, tenant)) ??
      await this.#keysOf(dataSet);
    if (keys.length === 0) return [];
    const values = await this.#redis.mgetBuffer(...keys);
    const prefix = this.#key(dataSet, "");
    return keys.flatMap((key, i) => {
      const value = values[i];
      if (!value) return [];
      const tenant = decodeURIComponent(key.slice(prefix.length));
      return [[tenant, new Uint8Array(value.buffer, value.byteOffset, value.byteLength)]];
    });
  }

  async save(dataSet: string, tenant: string, state: Uint8Array): Promise<void> {
    const value = Buffer.from(state.buffer, state.byteOffset, state.byteLength);
    await this.#redis.set(this.#key(dataSet, tenant), value, "EX", this.#ttlSeconds);
  }

  #key(dataSet: string, tenant: string): string {
    return `${this.#cluster}:crdt:${dataSet}:${encodeURIComponent(tenant)}`;
  }

  async #keysOf(dataSet: string): Promise<string[]> {
    const pattern = `${globEscape(this.#key(dataSet, ""))}*`;
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await this.#redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    return [...new Set(keys)]; // SCAN may return a key twice
  }
}

// A Redis glob that matches `text` literally.
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
