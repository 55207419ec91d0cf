/**
 * Ticket create: three nodes and two edges; a separate client process opens
 * tickets through both edges as fast as they are answered, at a few
 * concurrency levels, for a fixed window after a warm-up. Counted: creates
 * answered 201, checked against the projection rows in Postgres, and where
 * the machine's CPU went meanwhile, per process. The cluster's tenant rate
 * limit (1,000,000/s, set by TestCluster, its buckets in Redis as deployed)
 * is far above any rate reached here.
 *
 * Then the floor, loaded by the same client at the same concurrency: a bare
 * `Deno.serve` that verifies the token, validates the same body and inserts
 * one row per create with the same group commit (`_create_floor.ts`). Its
 * distance from Switchboard is the overhead of everything else.
 *
 * `--target <checkout>` runs the cluster from another checkout (the "before"
 * of a change); the client and the floor stay this checkout's.
 *
 * @module
 */
import postgres from "postgres";
import { CLUSTER_SECRET } from "../tests/_support/cluster.ts";
import { DATABASE_URL, uniqueName } from "../tests/_support/services.ts";
import { createFloorTable, startFloor } from "./_create_floor.ts";
import { type CreateRun, runCreators } from "./_create_client.ts";
import { backendsOf, serverProcesses } from "./_pg_backends.ts";
import { otherGroup, pidsNamed, type ProcessGroups, sampleCpu } from "./_proc_stats.ts";
import { BenchCluster, tenant } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";

const sizes = {
  full: { concurrency: [64, 256], warmupMs: 3000, durationMs: 20_000 },
  quick: { concurrency: [64, 256], warmupMs: 1000, durationMs: 5000 },
};
type Size = typeof sizes.full;
const nodes = ["n1", "n2", "n3"];
const edges = ["e1", "e2"];
/** Persisted creates per second the issue asks for on this machine. */
const target = 5_000;
/** Switchboard's creates/s ÷ the floor's, in the same run, the issue asks for. */
const floorShare = 0.5;

interface Level {
  concurrency: number;
  run: Omit<CreateRun, "ids">;
  /** Creates answered 201 over the whole run, warm-up included. */
  acked: number;
  /** Of those, the tickets with a projection row. */
  persisted: number;
  /** Cores each process group kept busy during the window. */
  cores: Record<string, number>;
  commits: CommitTotals;
}

/** Run the scenario. */
export async function run({ quick, signal, target }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  await using cluster = await BenchCluster.openWith({ target }, ...nodes, ...edges);
  for (const edge of edges) await cluster.waitForNodes(edge, nodes, signal);
  const token = await cluster.token("bench-agent");
  const nodePids = nodes.map((id) => cluster.get(id).pid);
  const groups: ProcessGroups = {
    ...Object.fromEntries([...nodes, ...edges].map((id) => [id, [cluster.get(id).pid]])),
    "postgres backends of the nodes": () => backendsOf(cluster.sql, nodePids),
    "postgres server (WAL writer, checkpointer…)": () => serverProcesses(cluster.sql),
    "nats-server (shared)": () => pidsNamed("nats-server"),
    // The edges' rate limits.
    "redis-server (shared)": () => pidsNamed("redis-server"),
    "bench runner": [Deno.pid],
  };
  const sampler = sampleCpu(groups);
  const levels: Level[] = [];
  try {
    for (const concurrency of size.concurrency) {
      signal.throwIfAborted();
      const commitsBefore = await commitTotals(cluster);
      const { ids, ...run } = await runCreators({
        edges: edges.map((edge) => cluster.get(edge).url),
        token,
        concurrency,
        warmupMs: size.warmupMs,
        durationMs: size.durationMs,
      }, signal);
      levels.push({
        concurrency,
        run,
        acked: ids.length,
        persisted: await persistedTickets(cluster.sql, ids),
        cores: sampler.coresBetween(run.window.from, run.window.to),
        commits: difference(await commitTotals(cluster), commitsBefore),
      });
    }
  } finally {
    await sampler.stop();
  }
  signal.throwIfAborted();
  const floor = await onFloor(size, token, signal);
  return {
    scenario: "ticket-create",
    tables: [
      {
        title: "Switchboard against the floor (bare Deno.serve, same validation and group commit)",
        rows: floorRows(levels, floor, size.durationMs),
      },
      {
        title: `persisted creates through ${edges.length} edges on ${nodes.length} nodes`,
        rows: levels.map((level) => createRow(level, size.durationMs)),
      },
      {
        title:
          `CPU cores busy during the window (the machine has ${navigator.hardwareConcurrency})`,
        rows: cpuRows(levels, Object.keys(groups), size.durationMs),
      },
    ],
    details: { size, target, floorShare, levels, floor },
  };
}

/** A level of the floor: `persisted` counts its rows of the creates it acked. */
type FloorLevel = Omit<Level, "commits">;

// The server side of a create, floor or Switchboard: every group but the
// load's own processes and the rest of the machine.
const notServer = new Set(["bench runner", otherGroup]);

async function onFloor(size: Size, token: string, signal: AbortSignal): Promise<FloorLevel[]> {
  const schema = uniqueName("floor_bench");
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await createFloorTable(sql, schema);
    await using floor = await startFloor({ schema, jwtSecret: CLUSTER_SECRET });
    const sampler = sampleCpu({
      floor: [floor.pid],
      "postgres backends of the floor": () => backendsOf(sql, [floor.pid]),
      "postgres server (WAL writer, checkpointer…)": () => serverProcesses(sql),
    });
    const levels: FloorLevel[] = [];
    try {
      for (const concurrency of size.concurrency) {
        signal.throwIfAborted();
        const { ids, ...run } = await runCreators({
          edges: [floor.url],
          token,
          concurrency,
          warmupMs: size.warmupMs,
          durationMs: size.durationMs,
        }, signal);
        const [{ persisted }] = await sql.unsafe<{ persisted: number }[]>(
          `select count(*)::int as persisted from ${schema}.floor_tickets where id = any($1)`,
          [ids],
        );
        const cores = sampler.coresBetween(run.window.from, run.window.to);
        levels.push({ concurrency, run, persisted, acked: ids.length, cores });
      }
    } finally {
      await sampler.stop();
    }
    return levels;
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.end();
  }
}

function floorRows(levels: Level[], floor: FloorLevel[], durationMs: number): Row[] {
  const perSecond = (run: CreateRun | Omit<CreateRun, "ids">) => run.created / (durationMs / 1000);
  const cpuPerCreate = (cores: Record<string, number>, created: number) => {
    const used = Object.entries(cores).reduce(
      (sum, [group, n]) => notServer.has(group) ? sum : sum + n,
      0,
    );
    return created === 0 ? null : 1e6 * used * (durationMs / 1000) / created;
  };
  return levels.map((level, i) => {
    const bare = floor[i];
    const ratio = perSecond(level.run) / perSecond(bare.run);
    return {
      concurrency: level.concurrency,
      "switchboard creates/s": perSecond(level.run),
      "floor creates/s": perSecond(bare.run),
      "switchboard ÷ floor": `${ratio.toFixed(2)}×`,
      "switchboard server µs CPU per create": cpuPerCreate(level.cores, level.run.created),
      "floor server µs CPU per create": cpuPerCreate(bare.cores, bare.run.created),
      "floor rows / acked": `${bare.persisted} / ${bare.acked}`,
      target: `≥ ${floorShare}×: ${ratio >= floorShare ? "met" : "missed"}`,
    };
  });
}

function createRow(level: Level, durationMs: number): Row {
  const { concurrency, run, acked, persisted, commits } = level;
  const perSecond = run.created / (durationMs / 1000);
  return {
    concurrency,
    "creates/s": perSecond,
    "p50 ms": run.latencyMs.p50,
    "p99 ms": run.latencyMs.p99,
    "not 201": Object.entries(run.statuses)
      .filter(([status]) => status !== "201")
      .reduce((sum, [, n]) => sum + n, 0),
    "acked (whole run)": acked,
    "not persisted (must be 0)": acked - persisted,
    "commit batch mean": commits.batches === 0 ? null : commits.appends / commits.batches,
    "commit ms mean": commits.batches === 0 ? null : 1000 * commits.seconds / commits.batches,
    target: `${target}/s: ${perSecond >= target ? "met" : "missed"}`,
  };
}

function cpuRows(levels: Level[], groups: string[], durationMs: number): Row[] {
  const client = (level: Level) => level.run.cpuMs / durationMs;
  const ours = (level: Level) =>
    client(level) + groups.reduce((sum, group) => sum + level.cores[group], 0);
  // The sampler counts the client under the rest of the machine; it is shown on its own.
  const others = (level: Level) => Math.max(0, level.cores[otherGroup] - client(level));
  const row = (process: string, value: (level: Level) => number): Row => ({
    process,
    ...Object.fromEntries(
      levels.map((level) => [`concurrency ${level.concurrency}`, value(level)]),
    ),
  });
  return [
    ...groups.map((group) => row(group, (level) => level.cores[group])),
    row("create client", client),
    row("all of the above", ours),
    row(
      "µs CPU per create (all of the above)",
      (level) => 1e6 * ours(level) * (durationMs / 1000) / level.run.created,
    ),
    row("other processes on the machine", others),
    row(
      "idle",
      (level) => Math.max(0, navigator.hardwareConcurrency - ours(level) - others(level)),
    ),
  ];
}

async function persistedTickets(sql: postgres.Sql, ids: string[]): Promise<number> {
  const [{ persisted }] = await sql<{ persisted: number }[]>`
    select count(*)::int as persisted from projections
    where tenant = ${tenant} and kind = 'ticket' and id = any(${ids})`;
  return persisted;
}

// The group committers' totals over every node, from their /metrics.
interface CommitTotals {
  batches: number;
  appends: number;
  seconds: number;
}

async function commitTotals(cluster: BenchCluster): Promise<CommitTotals> {
  const totals: CommitTotals = { batches: 0, appends: 0, seconds: 0 };
  for (const node of nodes) {
    const text = await (await fetch(`${cluster.get(node).url}/metrics`)).text();
    const value = (name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    totals.batches += value("sb_commit_batch_size_count");
    totals.appends += value("sb_commit_batch_size_sum");
    totals.seconds += value("sb_commit_batch_seconds_sum");
  }
  return totals;
}

function difference(after: CommitTotals, before: CommitTotals): CommitTotals {
  return {
    batches: after.batches - before.batches,
    appends: after.appends - before.appends,
    seconds: after.seconds - before.seconds,
  };
}
