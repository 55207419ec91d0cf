/**
 * Claim storm on a cluster: the claim storm's claimers (see
 * `claim_storm.ts`), each claiming every ticket once in its own order, now
 * through one edge in front of three node processes, so every claim crosses
 * NATS to the ticket's owner. Who won each ticket is checked against the
 * `assigned` events in Postgres: exactly one per ticket.
 *
 * @module
 */
import type postgres from "postgres";
import { parseActorKey } from "../cluster/actor_key.ts";
import { runClaimers } from "./_claim_client.ts";
import { checkOwnership, span, type StoredOwner, unexpectedAnswers } from "./_ownership.ts";
import { BenchCluster, ticketKey } from "./_process_cluster.ts";
import type { ScenarioOptions, ScenarioResult } from "./_report.ts";

const sizes = {
  full: { claimers: 200, tickets: 500, warmupTickets: 20 },
  quick: { claimers: 20, tickets: 50, warmupTickets: 5 },
};
const nodes = ["n1", "n2", "n3"];
const edge = "e1";
/** The storm starts no claim after this long. */
const timeLimitMs = 60_000;

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  await using cluster = await BenchCluster.open(...nodes, edge);
  await cluster.waitForNodes(edge, nodes, signal);
  const subs = Array.from({ length: size.claimers }, (_, i) => `agent${i}`);
  const tokens = await Promise.all(subs.map((sub) => cluster.token(sub)));
  const supervisor = await cluster.token("bench-supervisor", "supervisor");
  const claimAll = (tickets: string[], seed: number) =>
    runClaimers({
      urls: tickets.map((id) => `${cluster.get(edge).url}/v1/tickets/${id}/claim`),
      tokens,
      timeLimitMs,
      seed,
    }, signal);

  // Untimed: the same storm on a few other tickets warms every process's JIT.
  await claimAll(await cluster.openTickets(edge, supervisor, size.warmupTickets), 0);
  const tickets = await cluster.openTickets(edge, supervisor, size.tickets);
  const { winners, ...storm } = await claimAll(tickets, 1);
  const told = new Map(tickets.map((id, i) => [id, winners[i].map((claimer) => subs[claimer])]));
  const ownership = checkOwnership(told, await storedOwners(cluster.sql, tickets));

  return {
    scenario: "claim-storm-cluster",
    tables: [{
      title: `${nodes.length} nodes behind one edge`,
      rows: [{
        storm: `${size.claimers}×${size.tickets}` + (storm.complete ? "" : " (cut at time limit)"),
        claims: storm.claims,
        "claims/s": storm.claims / (storm.elapsedMs / 1000),
        "p50 ms": storm.latencyMs.p50,
        "p99 ms": storm.latencyMs.p99,
        "max ms": storm.latencyMs.max,
        "winners/ticket (must be 1)": span(ownership.winners),
        "double owners": ownership.doubleOwners,
        "db disagrees": ownership.disagreements,
        "not 200/409": unexpectedAnswers(storm.statuses),
      }],
    }],
    details: { size, timeLimitMs, storm, ownership },
  };
}

// Every claim a ticket actor accepted is an `assigned` event in its log; the
// owner is the agent of the last one.
async function storedOwners(
  sql: postgres.Sql,
  tickets: string[],
): Promise<Map<string, StoredOwner>> {
  const rows = await sql<{ actor_key: string; owner: string; writes: number }[]>`
    select actor_key, count(*)::int as writes,
      (array_agg(data->>'agent' order by seq desc))[1] as owner
    from events where type = 'assigned' and actor_key = any(${tickets.map(ticketKey)})
    group by actor_key`;
  return new Map(
    rows.map((row) => [parseActorKey(row.actor_key).id, { owner: row.owner, writes: row.writes }]),
  );
}
