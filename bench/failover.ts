/**
 * Failover: three nodes and an edge under a steady load of ticket creates
 * and comments. Again and again, one node is killed with SIGKILL, tickets
 * it owned are read every 20 ms until each answers again (a kill's failover
 * time is its slowest ticket's), and a node with the same id is started for
 * the next round. At the end every acknowledged command is looked up in the
 * event log: none may be missing.
 *
 * @module
 */
import { Ring } from "../cluster/placement/ring.ts";
import { call } from "../tests/_support/api_server.ts";
import { benchAgent, CommandLoad, lostCommands } from "./_command_load.ts";
import { BenchCluster, sleep, ticketKey } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { quantile } from "./_stats.ts";

const sizes = { full: { kills: 10 }, quick: { kills: 3 } };
const nodes = ["n1", "n2", "n3"];
const edge = "e1";
const load = { workers: 8, comments: 2, pauseMs: 10 };
/** Tickets opened per node before the load starts; the probes are drawn from them. */
const ticketsPerNode = 40;
const probesPerKill = 10;
const probeEveryMs = 20;
/** A ticket still silent this long after its kill counts as never recovered. */
const probeTimeoutMs = 15_000;
const targetP99Ms = 2000;

/** Failover times other actor runtimes publish; not measured here. */
const published = [
  { system: "Dapr actors", seconds: 6 },
  { system: "Orleans", seconds: 15 },
  { system: "Akka Cluster, split-brain resolver", seconds: 45 },
];

interface Kill {
  node: string;
  /** Kill to first answer of each probed ticket. */
  recoveryMs: number[];
  /** The slowest of them: when all the node's tickets served again. */
  failoverMs: number;
  /** Spawn to ready of the node started in its place. */
  restartMs: number;
}

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  await using cluster = await BenchCluster.open(...nodes, edge);
  await cluster.waitForNodes(edge, nodes, signal);
  const token = await cluster.token(benchAgent.sub);
  const tickets = await cluster.openTickets(edge, token, ticketsPerNode * nodes.length);

  const background = CommandLoad.start({
    url: cluster.get(edge).url,
    token,
    ...benchAgent,
    ...load,
  });
  const kills: Kill[] = [];
  const started = performance.now();
  try {
    await sleep(1000, signal);
    for (let k = 0; k < size.kills; k++) {
      kills.push(await killOne(cluster, nodes[k % nodes.length], tickets, token, signal));
    }
  } finally {
    await background.stop();
  }
  const elapsedMs = performance.now() - started;
  const lost = await lostCommands(cluster.sql, background.acknowledged);
  const failed = background.failures().length;

  const failovers = kills.map((kill) => kill.failoverMs).sort((a, b) => a - b);
  const p99 = quantile(failovers, 0.99);
  const summary: Row = {
    kills: kills.length,
    "tickets probed/kill": probesPerKill,
    "failover p50 ms": quantile(failovers, 0.5),
    "failover p99 ms": p99,
    "failover max ms": quantile(failovers, 1),
    "commands acked": background.acknowledged.length,
    "acked/s": background.acknowledged.length / (elapsedMs / 1000),
    "lost (must be 0)": lost,
    "failed requests (5xx or no answer)": failed,
    target: `p99 < ${targetP99Ms} ms: ${p99 < targetP99Ms ? "met" : "missed"}`,
  };
  return {
    scenario: "failover",
    tables: [
      {
        title: `kill -9 one of ${nodes.length} nodes under load, behind one edge`,
        rows: [summary],
      },
      { title: "each kill", rows: kills.map(killRow) },
      { title: "compared with other actor runtimes", rows: comparisonRows(p99) },
    ],
    details: {
      size,
      load,
      probeEveryMs,
      probeTimeoutMs,
      kills,
      answers: tally(background.answers.map((a) => a.status)),
    },
  };
}

async function killOne(
  cluster: BenchCluster,
  node: string,
  tickets: string[],
  token: string,
  signal: AbortSignal,
): Promise<Kill> {
  const ring = new Ring(nodes);
  const probed = tickets.filter((id) => ring.owner(ticketKey(id)) === node).slice(0, probesPerKill);
  // Active at their owner when it dies, as busy tickets would be.
  await cluster.touchTickets(edge, token, probed);
  const url = `${cluster.get(edge).url}/v1/tickets/`;
  const killedAt = performance.now();
  await cluster.kill(node);
  const recoveryMs = await Promise.all(
    probed.map((id) => firstAnswer(url + id, token, killedAt, signal)),
  );
  const [restarted] = await cluster.start(node);
  await cluster.waitForNodes(edge, nodes, signal);
  // The ring moves the tickets back to the new node; let that settle before the next kill.
  await sleep(500, signal);
  return { node, recoveryMs, failoverMs: Math.max(...recoveryMs), restartMs: restarted.readyMs };
}

// Milliseconds from `since` to the first 200 for `url`; Infinity after the probe timeout.
async function firstAnswer(
  url: string,
  token: string,
  since: number,
  signal: AbortSignal,
): Promise<number> {
  while (performance.now() - since < probeTimeoutMs) {
    const read = await call(url, token, "GET").catch(() => null);
    if (read?.status === 200) return performance.now() - since;
    await sleep(probeEveryMs, signal);
  }
  return Infinity;
}

function killRow(kill: Kill, index: number): Row {
  const sorted = [...kill.recoveryMs].sort((a, b) => a - b);
  return {
    kill: index + 1,
    node: kill.node,
    "failover ms (slowest ticket)": kill.failoverMs,
    "fastest ticket ms": sorted[0],
    "median ticket ms": quantile(sorted, 0.5),
    "replacement spawn → ready ms": kill.restartMs,
  };
}

function comparisonRows(p99Ms: number): Row[] {
  return [
    { system: "Switchboard (p99 over the kills)", "failover s": p99Ms / 1000, source: "measured" },
    ...published.map(({ system, seconds }) => ({
      system,
      "failover s": `~${seconds}`,
      source: "published, not measured here",
    })),
  ];
}

function tally(statuses: number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of statuses) counts[status] = (counts[status] ?? 0) + 1;
  return counts;
}
