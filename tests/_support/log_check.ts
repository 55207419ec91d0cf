// Reads a test schema's event log directly, to check what clients were told
// against what is durable.
import postgres from "postgres";
import { assert, assertEquals } from "@std/assert";
import type { Outcome } from "./load.ts";
import { DATABASE_URL } from "./services.ts";

/** Every actor's log is 1..n with no gap, and every 2xx outcome is in it. */
export async function assertAcknowledgedDurable(
  schema: string,
  outcomes: Outcome[],
): Promise<void> {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    const heads = await sql.unsafe(
      `select actor_key, count(*)::int as n, min(seq)::int as lo, max(seq)::int as hi,
              array_agg(type order by seq) as types
       from ${schema}.events group by actor_key`,
    );
    const logs = new Map<string, string[]>();
    for (const head of heads) {
      assertEquals([head.lo, head.hi], [1, head.n], `${head.actor_key} has a gap`);
      logs.set(head.actor_key as string, head.types as string[]);
    }
    const wanted = new Map<string, { created: boolean; claimed: boolean; comments: number }>();
    for (const outcome of outcomes) {
      if (outcome.status < 200 || outcome.status >= 300 || !outcome.ticket) continue;
      const entry = wanted.get(outcome.ticket) ?? { created: false, claimed: false, comments: 0 };
      if (outcome.op === "create") entry.created = true;
      if (outcome.op === "claim") entry.claimed = true;
      if (outcome.op === "comment") entry.comments++;
      wanted.set(outcome.ticket, entry);
    }
    for (const [ticket, entry] of wanted) {
      const types = logs.get(`ticket/acme/${ticket}`) ?? [];
      if (entry.created) assertEquals(types[0], "created", `acknowledged create of ${ticket} lost`);
      if (entry.claimed) assert(types.includes("assigned"), `acknowledged claim of ${ticket} lost`);
      assert(
        types.filter((t) => t === "commented").length >= entry.comments,
        `acknowledged comment on ${ticket} lost`,
      );
    }
  } finally {
    await sql.end();
  }
}
