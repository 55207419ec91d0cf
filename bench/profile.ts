/**
 * Profile: where the CPU of one chat message and of one ticket create goes,
 * and what the cluster spends per second while its sockets idle, by stage
 * and by process role, on 3 nodes + 2 edges with a NATS server of
 * the scenario's own. A fixed-rate chat load, then a fixed-concurrency create
 * load; meanwhile every Deno process is sampled by V8's profiler over its
 * inspector, and every process's CPU time is read from /proc. A stage's
 * share of a process's sampled main-thread time is charged that share of
 * the thread's measured CPU, divided by the operations of the window; the
 * process's other threads (GC helpers, I/O, compilers), the Postgres
 * backends, the Postgres server's own processes, nats-server and redis-server count as
 * rows of their own. Over the same windows V8's sampling heap profiler
 * estimates the bytes each stage allocates per operation, garbage included:
 * what the young generation has to sweep. (A window's allocations run on
 * after it until the load drains; its warm-up's are not counted.)
 *
 * `--target <checkout>` runs the cluster from another checkout's `main.ts`
 * (the "before" column of a change); the load and the attribution stay this
 * checkout's. The profiler costs the profiled processes some CPU of its own.
 *
 * @module
 */
import { NatsServer } from "../tests/_support/nats_server.ts";
import { type ChatRun, chatStepTiming, startChatLoad } from "./_chat_load.ts";
import { runCreators } from "./_create_client.ts";
import { type CpuProfile, type HeapProfile, InspectorSession } from "./_inspector.ts";
import { backendsOf, serverProcesses } from "./_pg_backends.ts";
import { pidsNamed, type ProcessGroups, sampleCpu } from "./_proc_stats.ts";
import { BenchCluster } from "./_process_cluster.ts";
import { type Stage, stageBytes, stages, stageTimes } from "./_profile_stages.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";

const sizes = {
  full: {
    chat: { agents: 50, conversations: 500, rate: 1000, stepMs: 10_000 },
    create: { concurrency: 64, warmupMs: 3000, durationMs: 10_000 },
    idleMs: 10_000,
  },
  quick: {
    chat: { agents: 10, conversations: 100, rate: 500, stepMs: 4000 },
    create: { concurrency: 32, warmupMs: 1000, durationMs: 4000 },
    idleMs: 3000,
  },
};
const chatTiming = { settleMs: 0, idleMs: 0, ...chatStepTiming };
// Only to mark the step; a profile is taken either way.
const sustained = { p99Ms: 250, ackedShare: 0.98 };
/** Microseconds between samples asked of V8 (it keeps to it only roughly). */
const samplingUs = 500;
/** Mean bytes between the allocations V8 samples. */
const heapSamplingBytes = 16_384;
const roles = { node: ["n1", "n2", "n3"], edge: ["e1", "e2"] };
const ids = [...roles.node, ...roles.edge];

/** µs of CPU per operation, by row and role. */
type Costs = Record<string, Record<string, number>>;

/** Run the scenario. */
export async function run({ quick, signal, target }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  const nats = await NatsServer.start();
  try {
    await using cluster = await BenchCluster.openWith(
      { target, inspect: true, natsUrl: nats.url },
      ...ids,
    );
    for (const edge of roles.edge) await cluster.waitForNodes(edge, roles.node, signal);
    const natsPids = await pidsServing(nats.url);
    const profiler = await Profiler.attach(cluster);
    try {
      const setup = await cluster.chatSetup(roles.edge, size.chat.agents, size.chat.conversations);
      // The chat's agents and visitors connected, nothing sent: what the cluster spends per
      // second on its own (membership heartbeats, presence leases, polls, head checks).
      const idle = await profiler.during(natsPids, async (window, startWindow) => {
        startWindow();
        const from = Date.now();
        await new Promise((resolve) => setTimeout(resolve, size.idleMs));
        window({ from, to: Date.now() }, size.idleMs / 1000);
      });
      signal.throwIfAborted();
      const chat = await profiler.during(natsPids, async (window, startWindow) => {
        const load = startChatLoad(
          { setup, rates: [size.chat.rate], stepMs: size.chat.stepMs, sustained, ...chatTiming },
          signal,
          (step) => step !== "warmup" && startWindow(),
        );
        const run: ChatRun = await load.result;
        const [step] = run.steps;
        window({ from: step.startedAt, to: step.endedAt }, step.sent);
        return step;
      });
      signal.throwIfAborted();
      const token = await cluster.token("bench-agent");
      const create = await profiler.during(natsPids, async (window, startWindow) => {
        const { ids: _, ...run } = await runCreators(
          { edges: roles.edge.map((id) => cluster.get(id).url), token, ...size.create },
          signal,
          startWindow,
        );
        window(run.window, run.created);
        return run;
      });
      return {
        scenario: "profile",
        tables: [
          {
            title:
              `idle, ${size.chat.agents} agents and ${size.chat.conversations} visitors connected: CPU µs per second by stage and role`,
            rows: table(idle.costs),
          },
          {
            title: `one chat message at ${size.chat.rate} msg/s, CPU µs by stage and role`,
            rows: table(chat.costs),
          },
          {
            title:
              `one ticket create at concurrency ${size.create.concurrency}, CPU µs by stage and role`,
            rows: table(create.costs),
          },
          {
            title: `bytes allocated per chat message and per ticket create, by stage and role`,
            rows: allocationTable(chat.allocations, create.allocations),
          },
        ],
        details: {
          size,
          samplingUs,
          heapSamplingBytes,
          target: target ?? null,
          idle,
          chat,
          create,
        },
      };
    } finally {
      await profiler.close();
    }
  } finally {
    await nats.stop();
  }
}

// The window a load reports, in epoch ms, with the operations done in it.
type Window = (window: { from: number; to: number }, operations: number) => void;

// Profiles every Deno process of the cluster and samples /proc beside them.
class Profiler {
  private constructor(
    readonly cluster: BenchCluster,
    readonly sessions: Map<string, InspectorSession>,
  ) {}

  static async attach(cluster: BenchCluster): Promise<Profiler> {
    const sessions = new Map<string, InspectorSession>();
    try {
      for (const id of ids) sessions.set(id, await InspectorSession.connect(cluster.inspector(id)));
    } catch (error) {
      for (const session of sessions.values()) await session[Symbol.asyncDispose]();
      throw error;
    }
    return new Profiler(cluster, sessions);
  }

  /**
   * Run `load` under the profilers; it calls `startWindow` as its measured
   * window starts (the heap profiles count from then), and names the window
   * and how many operations it holds once done.
   */
  async during<T>(
    natsPids: number[],
    load: (window: Window, startWindow: () => void) => Promise<T>,
  ) {
    const pids = Object.fromEntries(ids.map((id) => [id, this.cluster.get(id).pid]));
    const groups: ProcessGroups = {
      ...Object.fromEntries(ids.map((id) => [id, [pids[id]]])),
      ...Object.fromEntries(ids.map((id) => [`${id} main`, { mainThreads: [pids[id]] }])),
      "postgres backends": () => backendsOf(this.cluster.sql, Object.values(pids)),
      "postgres server": () => serverProcesses(this.cluster.sql),
      nats: natsPids,
      redis: () => pidsNamed("redis-server"),
    };
    const sampler = sampleCpu(groups, 250);
    const started = new Map<string, number>();
    for (const [id, session] of this.sessions) {
      await session.startProfiling(samplingUs);
      await session.startHeapSampling(heapSamplingBytes);
      started.set(id, Date.now());
    }
    let measured: { window: { from: number; to: number }; operations: number } | undefined;
    let result: T;
    const profiles = new Map<string, CpuProfile>();
    const heaps = new Map<string, HeapProfile>();
    // Each process's heap samples so far, when the window starts: the rest is the window's.
    let heapsAtStart: Promise<Map<string, HeapProfile>> | undefined;
    const startWindow = () => {
      heapsAtStart ??= (async () => {
        const samples = new Map<string, HeapProfile>();
        for (const [id, session] of this.sessions) samples.set(id, await session.heapSamples());
        return samples;
      })();
    };
    try {
      result = await load((window, operations) => measured = { window, operations }, startWindow);
    } finally {
      for (const [id, session] of this.sessions) {
        profiles.set(id, await session.stopProfiling());
        heaps.set(id, await session.stopHeapSampling());
      }
      await sampler.stop();
    }
    if (!measured || measured.operations === 0) throw new Error("the load did no operation");
    if (!heapsAtStart) throw new Error("the load never started its window");
    const before = await heapsAtStart;
    const { window, operations } = measured;
    const cores = sampler.coresBetween(window.from, window.to);
    const seconds = (window.to - window.from) / 1000;
    const perOp = (group: string) => 1e6 * cores[group] * seconds / operations;
    const costs: Costs = {};
    const add = (row: string, role: string, us: number) => addTo(costs, row, role, us);
    const allocations: Costs = {};
    const coverage: Record<string, number> = {};
    const topFrames: Record<string, unknown> = {};
    const topAllocations: Record<string, unknown> = {};
    for (const id of ids) {
      const role = roles.node.includes(id) ? "node" : "edge";
      const profile = profiles.get(id)!;
      const clock = (epochMs: number) => profile.startTime + (epochMs - started.get(id)!) * 1000;
      const times = stageTimes(profile, clock(window.from), clock(window.to));
      const main = perOp(`${id} main`);
      for (const stage of stages) {
        add(stage, role, times.busyUs > 0 ? main * times.byStage[stage] / times.busyUs : 0);
      }
      add(otherThreads, role, Math.max(0, perOp(id) - main));
      // Sampled busy time over measured main-thread CPU: near 1 when the samples tell the truth.
      coverage[id] = times.busyUs / (1e6 * cores[`${id} main`] * seconds);
      topFrames[id] = times.topFrames;
      const bytes = stageBytes(heaps.get(id)!, before.get(id));
      for (const stage of stages) {
        addTo(allocations, stage, role, bytes.byStage[stage] / operations);
      }
      topAllocations[id] = bytes.topFrames;
    }
    add(postgresBackends, "postgres", perOp("postgres backends"));
    add(postgresServer, "postgres", perOp("postgres server"));
    add(natsServer, "nats", perOp("nats"));
    add(redisServer, "redis", perOp("redis"));
    return {
      operations,
      window,
      seconds,
      result: result!,
      costs,
      coverage,
      topFrames,
      allocations,
      topAllocations,
    };
  }

  async close(): Promise<void> {
    for (const session of this.sessions.values()) await session[Symbol.asyncDispose]();
  }
}

const otherThreads = "other threads of the process";
const profiling: Stage = "inspector (the profiling's own cost)";
const postgresBackends = "Postgres backends: statements, commits";
const postgresServer = "Postgres server: WAL writer, checkpointer…";
const natsServer = "nats-server";
const redisServer = "redis-server: the edges' rate limits, CRDT snapshots";
const roleColumns = ["edge", "node", "postgres", "nats", "redis"];

function table(costs: Costs): Row[] {
  const rowNames: string[] = [
    ...stages,
    otherThreads,
    postgresBackends,
    postgresServer,
    natsServer,
    redisServer,
  ];
  const total = (role: string) =>
    rowNames.reduce((sum, name) => name === profiling ? sum : sum + (costs[name]?.[role] ?? 0), 0);
  const rows = rowNames.filter((name) => Object.values(costs[name] ?? {}).some((us) => us >= 0.5))
    .map((name) => row(name, (role) => costs[name]?.[role]));
  return [...rows, row(`total (without ${profiling})`, total)];
}

function addTo(costs: Costs, row: string, role: string, value: number): void {
  costs[row] ??= {};
  costs[row][role] = (costs[row][role] ?? 0) + value;
}

function allocationTable(chat: Costs, create: Costs): Row[] {
  const columns = Object.entries({ chat, create }).flatMap(([operation, costs]) =>
    ["edge", "node"].map((role) => ({ name: `${operation}: ${role} B`, costs, role }))
  );
  const cells = (bytes: (column: (typeof columns)[number]) => number) =>
    Object.fromEntries(columns.map((column) => [column.name, Math.round(bytes(column))]));
  const rows = stages.map((stage) => ({
    stage,
    ...cells(({ costs, role }) => costs[stage]?.[role] ?? 0),
  })).filter((row) => Object.values(row).some((cell) => typeof cell === "number" && cell >= 100));
  const total = cells(({ costs, role }) =>
    stages.reduce((sum, stage) => sum + Math.round(costs[stage]?.[role] ?? 0), 0)
  );
  return [...rows, { stage: "total", ...total }];
}

function row(name: string | Stage, value: (role: string) => number | undefined): Row {
  const cells = Object.fromEntries(roleColumns.map((role) => [`${role} µs`, value(role) ?? null]));
  const all = roleColumns.reduce((sum, role) => sum + (value(role) ?? 0), 0);
  return { stage: name, ...cells, "all µs": all };
}

// The nats-server listening on `url`'s port: its command line names the port.
async function pidsServing(url: string): Promise<number[]> {
  const port = new URL(url).port;
  const found: number[] = [];
  for (const pid of await pidsNamed("nats-server")) {
    const args = (await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "")).split("\0");
    if (args.includes(port)) found.push(pid);
  }
  return found;
}
