// The two claim mechanisms Switchboard is measured against, over a plain
// `tickets_baseline` table: (a) a Redis lock, then a Postgres update; (b) a
// Postgres row lock (`SELECT … FOR UPDATE`), then the update.
import type { Redis } from "ioredis";
import type postgres from "postgres";
import type { StoredOwner } from "./_ownership.ts";

/**
 * How a claim ended: `locked` is (a)'s loser that never reached Postgres;
 * `missing` is (b)'s answer for a ticket that does not exist.
 */
export type ClaimOutcome = "won" | "lost" | "locked" | "missing";

/** A claim mechanism: make `claimer` the ticket's owner if it has none. */
export type ClaimMechanism = (ticket: string, claimer: string) => Promise<ClaimOutcome>;

/** Create the baseline table in the pool's schema. */
export async function createBaselineTable(sql: postgres.Sql): Promise<void> {
  await sql`create table if not exists tickets_baseline (
    id text primary key,
    assignee text,
    version int not null default 0
  )`;
}

/** Insert unclaimed tickets. */
export async function insertBaselineTickets(sql: postgres.Sql, ids: string[]): Promise<void> {
  await sql`insert into tickets_baseline ${sql(ids.map((id) => ({ id })))}`;
}

/** The stored owner of each ticket. */
export async function baselineOwners(
  sql: postgres.Sql,
  ids: string[],
): Promise<Map<string, StoredOwner>> {
  const rows = await sql<{ id: string; assignee: string | null; version: number }[]>`
    select id, assignee, version from tickets_baseline where id = any(${ids})`;
  return new Map(rows.map((row) => [row.id, { owner: row.assignee, writes: row.version }]));
}

/** Options of {@linkcode redisLockClaims}. */
export interface RedisLockOptions {
  /** Lock lifetime; 5000 ms by default. */
  ttlMs?: number;
  /** Time between taking the lock and writing, e.g. a GC pause; none by default. */
  stallMs?: number;
  /**
   * Write unconditionally, trusting the lock alone; by default the write only
   * takes a ticket without an owner, so the row itself fences stale holders.
   */
  trustLock?: boolean;
}

// Delete the lock only while it is still the caller's: after the TTL it may be someone else's.
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1])
end
return 0`;

/**
 * (a): `SET lock:<id> <claimer> NX PX <ttl>`, then the Postgres update, then
 * release. A claimer that finds the lock taken loses at once: the holder is
 * about to own the ticket.
 */
export function redisLockClaims(
  redis: Redis,
  sql: postgres.Sql,
  keyPrefix: string,
  options: RedisLockOptions = {},
): ClaimMechanism {
  const { ttlMs = 5000, stallMs = 0, trustLock = false } = options;
  const onlyUnowned = trustLock ? sql`` : sql`and assignee is null`;
  return async (ticket, claimer) => {
    const key = `${keyPrefix}:lock:${ticket}`;
    if (await redis.set(key, claimer, "PX", ttlMs, "NX") === null) return "locked";
    try {
      if (stallMs > 0) await new Promise((resolve) => setTimeout(resolve, stallMs));
      const { count } = await sql`update tickets_baseline
        set assignee = ${claimer}, version = version + 1
        where id = ${ticket} ${onlyUnowned}`;
      return count === 1 ? "won" : "lost";
    } finally {
      await redis.eval(releaseScript, 1, key, claimer);
    }
  };
}

/** (b): in one transaction, lock the row, and take it if it has no owner. */
export function forUpdateClaims(sql: postgres.Sql): ClaimMechanism {
  return (ticket, claimer) =>
    sql.begin(async (tx): Promise<ClaimOutcome> => {
      const [row] = await tx<{ assignee: string | null }[]>`
        select assignee from tickets_baseline where id = ${ticket} for update`;
      if (!row) return "missing";
      if (row.assignee !== null) return "lost";
      await tx`update tickets_baseline set assignee = ${claimer}, version = version + 1
        where id = ${ticket}`;
      return "won";
    });
}
