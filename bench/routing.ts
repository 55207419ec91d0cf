/**
 * Routing: what a sandboxed plugin costs and how fast its versions move.
 *
 * - Call overhead: the language-match example plugin called through the
 *   sandboxed host (a child process per call slot, JSON over a pipe) against
 *   the same module imported and called in-process, on the same inputs.
 * - Fallback: a plugin that spins forever on some items, deadline 50 ms:
 *   the time until the least-loaded answer comes back instead.
 * - Hot reload: three real node processes; a new version registered over
 *   the admin API until every node routes with it.
 * - The storm of the routing tests: 1,000 chats in a burst to 50 agents of
 *   chat capacity 3 who close what they get after a random moment; its
 *   assignments/s and its counts of over-capacity and double assignments.
 * - Arrival → assignment of the periodic-sweep assigner peers ship (poll
 *   5 s, lock, one per cycle) on the cluster's Postgres, with free agents
 *   and when a slot frees, beside Switchboard's live path in the same run:
 *   widget bootstraps on one edge, agents' sockets on another, the queue
 *   actor routing between them.
 *
 * @module
 */
import languageMatch from "../plugins/examples/language_match.ts";
import { PluginHost, type RouteRequest } from "../plugins/host/plugin_host.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { subjects } from "../cluster/transport/subjects.ts";
import type { PluginAdminResponse } from "../cluster/protocol.ts";
import { call } from "../tests/_support/api_server.ts";
import { agent, item } from "../tests/_support/routing_inputs.ts";
import { runStorm } from "../tests/_support/routing_storm.ts";
import { type Latency, latency, measureAssignment } from "./_assignment_path.ts";
import { BenchCluster, sleep } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { SweepAssigner } from "./_sweep_assigner.ts";
import { SwitchboardAssigner } from "./_switchboard_assigner.ts";

const sizes = {
  full: {
    calls: 3000,
    hangs: 20,
    reloads: 10,
    arrivals: 6,
    refills: 3,
    liveArrivals: 200,
    liveRefills: 50,
    stormChats: 1000,
  },
  quick: {
    calls: 500,
    hangs: 5,
    reloads: 3,
    arrivals: 2,
    refills: 1,
    liveArrivals: 20,
    liveRefills: 5,
    stormChats: 200,
  },
};
const deadlineMs = 50;
const nodes = ["n1", "n2", "n3"];
const targets = { pluginP99Ms: 5, fallbackMs: deadlineMs + 20, assignP99Ms: 50 };

// Twenty agents in four languages, a few of them full or away.
const candidates = Array.from({ length: 20 }, (_, i) =>
  agent(`a${i}`, {
    languages: [["en", "de", "fr", "es"][i % 4]],
    status: i % 7 === 6 ? "away" : "online",
    load: { chat: i % 4, ticket: 0 },
    idleSinceMs: i * 1000,
  }));
const requests: RouteRequest[] = ["de", "fr", "es", "en", "pt"].map((language, i) => ({
  item: item({ id: `c-${i}`, language, tags: [] }),
  candidates,
}));

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  const overhead = await callOverhead(size.calls);
  signal.throwIfAborted();
  const fallback = await hungFallback(size.hangs);
  signal.throwIfAborted();
  // A cluster of its own (the routing tests' one), before the other opens.
  const storm = await runStorm({ chats: size.stormChats });
  signal.throwIfAborted();
  await using cluster = await BenchCluster.open(...nodes, "e1", "e2");
  await cluster.waitForNodes("e1", nodes, signal);
  await cluster.waitForNodes("e2", nodes, signal);
  const reload = await hotReload(cluster, size.reloads, signal);
  await using sweep = new SweepAssigner(cluster.sql);
  const assignment = await measureAssignment(sweep, { ...size, spacingMs: 500, signal });
  await using live = new SwitchboardAssigner(cluster, "e1", "e2");
  const liveAssignment = await measureAssignment(live, {
    arrivals: size.liveArrivals,
    refills: size.liveRefills,
    spacingMs: 20,
    signal,
  });

  const row = (what: string, figures: Latency, target: string): Row => ({
    what,
    samples: figures.samples,
    "p50 ms": figures.p50Ms,
    "p99 ms": figures.p99Ms,
    "max ms": figures.maxMs,
    target,
  });
  return {
    scenario: "routing",
    tables: [
      {
        title: "plugin call, sandboxed vs in-process (language-match, 20 candidates)",
        rows: [
          row(
            "sandboxed plugin (child process)",
            overhead.sandboxed,
            `p99 < ${targets.pluginP99Ms}`,
          ),
          row("same module in-process", overhead.inProcess, "–"),
        ],
      },
      {
        title: `fallback from a hung plugin (deadline ${deadlineMs} ms)`,
        rows: [
          row("spinning plugin → least-loaded answer", fallback, `max < ${targets.fallbackMs}`),
        ],
      },
      {
        title: "hot reload across 3 node processes",
        rows: [
          row("POST /v1/admin/plugins answered (validated, stored)", reload.answered, "–"),
          row("registered → every node routes with it", reload.everyNode, "–"),
        ],
      },
      {
        title:
          `storm: ${storm.chats} chats in a burst to 50 agents of chat capacity 3 on 2 edges, 3 nodes`,
        rows: [{
          "assignments": storm.assignments,
          "assignments/s": Math.round(storm.assignmentsPerSecond),
          "over capacity (must be 0)": storm.overCapacity,
          "assigned while held (must be 0)": storm.assignedWhileHeld,
          "chats not assigned exactly once (must be 0)": storm.notAssignedOnce,
          "not routed, or not closed by their agent (must be 0)": storm.notRoutedAndClosed,
        }],
      },
      {
        title: "arrival → assignment",
        rows: [
          row(`${sweep.name}: free agents`, assignment.freeAgents, "–"),
          row(`${sweep.name}: slot frees`, assignment.slotFreed, "–"),
          row(
            `${live.name}: free agents`,
            liveAssignment.freeAgents,
            `p99 < ${targets.assignP99Ms}`,
          ),
          row(`${live.name}: slot frees`, liveAssignment.slotFreed, "–"),
        ],
      },
    ],
    details: {
      sizes: size,
      deadlineMs,
      targets,
      overhead,
      fallback,
      reload,
      assignment,
      liveAssignment,
      storm,
    },
  };
}

async function callOverhead(calls: number): Promise<{ sandboxed: Latency; inProcess: Latency }> {
  const source = await Deno.readTextFile(
    new URL("../plugins/examples/language_match.ts", import.meta.url),
  );
  const host = new PluginHost({ deadlineMs: 1000, poolSize: 1 });
  try {
    await host.load("language-match", "1", source);
    await host.prepare("language-match", "1");
    host.activate("language-match", "1");
    // Warm both paths so compilation stays out of the figures.
    for (let i = 0; i < 100; i++) await host.route("language-match", requests[i % 5]);
    const sandboxed: number[] = [];
    const inProcess: number[] = [];
    for (let i = 0; i < calls; i++) {
      const request = requests[i % requests.length];
      let started = performance.now();
      const outcome = await host.route("language-match", request);
      sandboxed.push(performance.now() - started);
      if (outcome.fallback) throw new Error(`the plugin fell back: ${outcome.fallback.detail}`);
      started = performance.now();
      await languageMatch.route({ ...request, options: {} });
      inProcess.push(performance.now() - started);
    }
    return { sandboxed: latency(sandboxed), inProcess: latency(inProcess) };
  } finally {
    await host.close();
  }
}

async function hungFallback(hangs: number): Promise<Latency> {
  const source = `export default {
    name: "hangs",
    route: ({ item, candidates }) => {
      if (item.tags.includes("hang")) while (true) {}
      return { assign: candidates.find((c) => c.status === "online").id };
    },
  };`;
  const host = new PluginHost({ deadlineMs, breaker: { failures: 1_000_000 } });
  const hung = { ...requests[0], item: item({ tags: ["hang"] }) };
  try {
    await host.load("hangs", "1", source);
    await host.prepare("hangs", "1");
    host.activate("hangs", "1");
    const samples: number[] = [];
    for (let i = 0; i < hangs; i++) {
      const started = performance.now();
      const outcome = await host.route("hangs", hung);
      samples.push(performance.now() - started);
      if (outcome.fallback?.cause !== "timeout") throw new Error("the hung call did not time out");
      // The killed child's replacement starts before the next call.
      await host.prepare("hangs", "1");
    }
    return latency(samples);
  } finally {
    await host.close();
  }
}

async function hotReload(
  cluster: BenchCluster,
  reloads: number,
  signal: AbortSignal,
): Promise<{ answered: Latency; everyNode: Latency }> {
  const bus = await connectNatsTransport({ url: cluster.natsUrl, name: "bench-routing" });
  const admin = await cluster.token("bench-admin", "admin");
  const names = subjects(cluster.cluster);
  const versionOn = async (node: string) => {
    const answer = await bus.request(names.pluginAdminAt(node), {
      op: "route",
      tenant: "acme",
      name: "reload",
      request: requests[0],
    }, { timeoutMs: 5000 }) as PluginAdminResponse;
    return answer.ok && "outcome" in answer ? answer.outcome.router.version : "";
  };
  const answered: number[] = [];
  const everyNode: number[] = [];
  try {
    for (let v = 0; v <= reloads; v++) {
      signal.throwIfAborted();
      const version = String(v);
      const source = `export default { name: "reload", route: ({ candidates }) =>
        ({ assign: candidates.find((c) => c.status === "online").id, reason: "v${v}" }) };`;
      const started = performance.now();
      const registered = await call(`${cluster.get("e1").url}/v1/admin/plugins`, admin, "POST", {
        name: "reload",
        version,
        source,
      });
      if (registered.status !== 201) throw new Error(`register: ${JSON.stringify(registered)}`);
      const answeredAt = performance.now();
      await Promise.all(nodes.map(async (node) => {
        while (await versionOn(node) !== version) await sleep(2, signal);
      }));
      // Version 0 only starts the children of a first version on every node.
      if (v === 0) continue;
      answered.push(answeredAt - started);
      everyNode.push(performance.now() - started);
    }
  } finally {
    await bus.close();
  }
  return { answered: latency(answered), everyNode: latency(everyNode) };
}
