/**
 * Scale-out: three nodes and an edge hold a few thousand tickets and serve a
 * steady load; a fourth node joins. Measured: the share of the tickets that
 * existed before the join whose owner changed (by the ring, cross-checked
 * against the actors each node reports once every ticket was read again),
 * against the ideal 1/(n+1), and the requests that failed meanwhile.
 *
 * @module
 */
import { Ring } from "../cluster/placement/ring.ts";
import { benchAgent, CommandLoad, lostCommands } from "./_command_load.ts";
import { BenchCluster, sleep, ticketKey } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { quantile } from "./_stats.ts";

const sizes = { full: { tickets: 3000 }, quick: { tickets: 600 } };
const before = ["n1", "n2", "n3"];
const joining = "n4";
const after = [...before, joining];
const edge = "e1";
const load = { workers: 8, comments: 2, pauseMs: 10 };
/** How long the load runs on, once the edge routes over the new node too. */
const settleMs = 2000;

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  await using cluster = await BenchCluster.open(...before, edge);
  await cluster.waitForNodes(edge, before, signal);
  const token = await cluster.token(benchAgent.sub);
  const existing = await cluster.openTickets(edge, token, size.tickets);

  const background = CommandLoad.start({
    url: cluster.get(edge).url,
    token,
    ...benchAgent,
    ...load,
  });
  let joinedAt: number;
  let routedAt: number;
  try {
    await sleep(1000, signal);
    joinedAt = performance.now();
    await cluster.start(joining);
    await cluster.waitForNodes(edge, after, signal);
    routedAt = performance.now();
    await sleep(settleMs, signal);
  } finally {
    await background.stop();
  }

  // Reading every ticket again activates each at its owner under the new view.
  const all = [...existing, ...background.tickets];
  await cluster.touchTickets(edge, token, all);
  const reported = await cluster.ticketActors(edge);
  const lost = await lostCommands(cluster.sql, background.acknowledged);

  const [ringBefore, ringAfter] = [new Ring(before), new Ring(after)];
  const moved =
    existing.filter((id) => ringBefore.owner(ticketKey(id)) !== ringAfter.owner(ticketKey(id)))
      .length;
  const predicted = countBy(all, (id) => ringAfter.owner(ticketKey(id)));
  const reportedTotal = Object.values(reported).reduce((sum, n) => sum + n, 0);

  const during = background.answers.filter((a) => a.at >= joinedAt);
  const latencies = during.map((a) => a.ms).sort((a, b) => a - b);
  const moves: Row[] = [
    {
      measure: `ideal 1/(n+1), n = ${before.length}`,
      tickets: null,
      moved: null,
      "share moved": 1 / after.length,
    },
    {
      measure: "ring before ÷ after, tickets opened before the join",
      tickets: existing.length,
      moved,
      "share moved": moved / existing.length,
    },
    {
      measure: `admin view: actors on ${joining} ÷ all, every ticket read again`,
      tickets: reportedTotal,
      moved: reported[joining] ?? 0,
      "share moved": (reported[joining] ?? 0) / reportedTotal,
    },
  ];
  const requests: Row[] = [{
    "requests during the join": during.length,
    "failed (5xx or no answer, must be 0)": background.failures(joinedAt).length,
    "not 2xx": during.filter((a) => a.status < 200 || a.status >= 300).length,
    "p50 ms": quantile(latencies, 0.5),
    "p99 ms": quantile(latencies, 0.99),
    "max ms": quantile(latencies, 1),
    "spawn → routed by the edge ms": routedAt - joinedAt,
    "acked commands lost (must be 0)": lost,
  }];
  const perNode: Row[] = after.map((node) => ({
    node,
    "tickets by the ring": predicted[node] ?? 0,
    "ticket actors reported": reported[node] ?? null,
  }));
  return {
    scenario: "scale-out",
    tables: [
      { title: `a ${after.length}th node joins ${before.length} under load`, rows: moves },
      {
        title: `requests from the ${joining} spawn to ${settleMs} ms after it is routed`,
        rows: requests,
      },
      { title: "tickets per node after the join", rows: perNode },
    ],
    details: { size, load, settleMs, reported, predicted },
  };
}

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}
