/**
 * Chat: visitors and agents over the two edges of a 3-node cluster, each
 * visitor on the other edge than its agent, at rising fixed message rates;
 * visitor→agent latency and the highest sustained rate of persisted
 * messages, checked against the event log afterwards. The same generator,
 * sockets and rates then drive the baseline: Socket.IO with the Redis
 * adapter on two processes, inserting each message into Postgres before
 * relaying and acknowledging it. Then the matched topology: Switchboard as
 * one standalone process on the same Postgres (no NATS hop) beside one
 * Socket.IO process (no adapter: it holds every room).
 *
 * Everything shares one 2-core machine: five Switchboard processes (or two
 * Socket.IO ones), Postgres, NATS, Redis and the generator's process. The
 * CPU table shows who got the cores.
 *
 * `--target <checkout>` runs Switchboard from another checkout (the "before"
 * of a change); Socket.IO, the load and the checks stay this checkout's.
 *
 * @module
 */
import postgres from "postgres";
import { DATABASE_URL, uniqueName } from "../tests/_support/services.ts";
import {
  type ChatLoad,
  type ChatRun,
  chatStepTiming,
  startChatLoad,
  type StepResult,
} from "./_chat_load.ts";
import { BenchCluster, standaloneId } from "./_process_cluster.ts";
import {
  otherGroup,
  pidsNamed,
  postgresBackendsOf,
  type ProcessGroups,
  sampleCpu,
} from "./_proc_stats.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { createMessagesTable, startSocketIoServers } from "./_socketio_server.ts";

const sizes = {
  full: {
    agents: 50,
    conversations: 500,
    rates: [500, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10_000, 14_000],
    stepMs: 5000,
  },
  quick: { agents: 10, conversations: 100, rates: [250, 500, 1000], stepMs: 2000 },
};
type Size = typeof sizes.full;
const timing = { settleMs: 12_000, idleMs: 3000, ...chatStepTiming };
/** When a step counts as sustained. */
const sustained = { p99Ms: 250, ackedShare: 0.98 };
/** The targets the issue sets for Switchboard. */
const targets = { persistedPerSecond: 10_000, p99: { rate: 2000, ms: 25 }, vsSocketIo: 1.5 };
/** The matched topology's target: Switchboard's CPU per message ÷ Socket.IO's. */
const matchedCpuTarget = 0.7;
const nodeIds = ["n1", "n2", "n3"];
const edgeIds = ["e1", "e2"];

type System = "switchboard" | "socket.io";
/** The processes a system runs on: the full cluster (two Socket.IO servers), or one. */
type Topology = "cluster" | "single";
/** Cores busy on average, by process group. */
type Cores = Record<string, number>;
/** Process groups in the CPU table, each system's own first. */
const cpuColumns = [
  "nodes",
  "edges",
  "servers",
  "postgres",
  "nats",
  "redis",
  "load generator",
  otherGroup,
];

interface SystemRun {
  system: System;
  topology: Topology;
  /** The system and its processes, as the tables name them. */
  label: string;
  run: ChatRun;
  /** Messages in the system's store at the end: `message` events, or baseline rows. */
  stored: number;
  /** The cores each process group kept busy while idle and during each step. */
  cpu: { idle: Cores; steps: Cores[] };
}

/** Run the scenario. */
export async function run({ quick, signal, target }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  const infra = await infrastructure();
  const switchboard = await onSwitchboard("cluster", size, infra, signal, target);
  signal.throwIfAborted();
  const socketIo = await onSocketIo("cluster", size, infra, signal);
  signal.throwIfAborted();
  const single = await onSwitchboard("single", size, {}, signal, target);
  signal.throwIfAborted();
  const singleSocketIo = await onSocketIo("single", size, {}, signal);
  const runs = [switchboard, socketIo, single, singleSocketIo];
  return {
    scenario: "chat",
    tables: [
      { title: "targets", rows: targetRows(switchboard, socketIo, size) },
      {
        title: "matched topologies: CPU per delivered message",
        rows: matchedRows([[switchboard, socketIo], [single, singleSocketIo]], size),
      },
      { title: "each step (open loop, rising rate)", rows: runs.flatMap((r) => stepRows(r, size)) },
      { title: "cores busy during each step (of 2)", rows: runs.flatMap(cpuRows) },
    ],
    details: {
      size,
      timing,
      sustained,
      targets,
      cpus: navigator.hardwareConcurrency,
      loadAverageAtStart: Deno.loadavg(),
      runs,
    },
  };
}

// The shared services, priced beside each system; other users of NATS and
// Redis (nothing else should run during a benchmark) count as ours.
async function infrastructure(): Promise<ProcessGroups> {
  return { nats: await pidsNamed("nats-server"), redis: await pidsNamed("redis-server") };
}

async function onSwitchboard(
  topology: Topology,
  size: Size,
  infra: ProcessGroups,
  signal: AbortSignal,
  target?: string,
): Promise<SystemRun> {
  if (topology === "single") {
    await using cluster = await BenchCluster.openWith({ target }, standaloneId);
    const server = cluster.get(standaloneId).pid;
    const setup = await cluster.chatSetup([standaloneId], size.agents, size.conversations);
    const groups = { servers: [server], postgres: () => postgresBackendsOf([server]), ...infra };
    const label = "switchboard ×1 (standalone)";
    return await switchboardRun(cluster, { topology, label }, setup, groups, size, signal);
  }
  await using cluster = await BenchCluster.openWith({ target }, ...nodeIds, ...edgeIds);
  for (const edge of edgeIds) await cluster.waitForNodes(edge, nodeIds, signal);
  const setup = await cluster.chatSetup(edgeIds, size.agents, size.conversations);
  const nodes = nodeIds.map((id) => cluster.get(id).pid);
  const groups = {
    nodes,
    edges: edgeIds.map((id) => cluster.get(id).pid),
    postgres: () => postgresBackendsOf(nodes),
    ...infra,
  };
  const label = `switchboard ${nodeIds.length} nodes + ${edgeIds.length} edges`;
  return await switchboardRun(cluster, { topology, label }, setup, groups, size, signal);
}

async function switchboardRun(
  cluster: BenchCluster,
  { topology, label }: Pick<SystemRun, "topology" | "label">,
  setup: ChatLoad["setup"],
  groups: ProcessGroups,
  size: Size,
  signal: AbortSignal,
): Promise<SystemRun> {
  const { run, cpu } = await drive(setup, groups, size, signal);
  const [{ stored }] = await cluster.sql<{ stored: number }[]>`
    select count(*)::int as stored from events
    where type = 'message' and data->'author'->>'role' = 'visitor'`;
  return { system: "switchboard", topology, label, run, stored, cpu };
}

async function onSocketIo(
  topology: Topology,
  size: Size,
  infra: ProcessGroups,
  signal: AbortSignal,
): Promise<SystemRun> {
  const schema = uniqueName("sio_bench");
  // One process holds every room: the Redis adapter would only add a hop.
  const channel = topology === "cluster" ? uniqueName("sio") : undefined;
  const count = topology === "cluster" ? 2 : 1;
  const label = `socket.io ×${count}${channel ? " (Redis adapter)" : ""}`;
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await createMessagesTable(sql, schema);
    await using servers = await startSocketIoServers(count, { schema, channel });
    const setup = {
      system: "socket.io" as const,
      servers: servers.urls,
      agents: size.agents,
      conversations: size.conversations,
    };
    const groups = {
      servers: servers.pids,
      postgres: () => postgresBackendsOf(servers.pids),
      ...infra,
    };
    const { run, cpu } = await drive(setup, groups, size, signal);
    const [{ stored }] = await sql.unsafe<{ stored: number }[]>(
      `select count(*)::int as stored from ${schema}.messages`,
    );
    return { system: "socket.io", topology, label, run, stored, cpu };
  } finally {
    await sql.unsafe(`drop schema if exists ${schema} cascade`);
    await sql.end();
  }
}

async function drive(
  setup: ChatLoad["setup"],
  groups: ProcessGroups,
  size: Size,
  signal: AbortSignal,
): Promise<{ run: ChatRun; cpu: SystemRun["cpu"] }> {
  const load = startChatLoad({
    setup,
    rates: size.rates,
    stepMs: size.stepMs,
    sustained,
    ...timing,
  }, signal);
  const sampler = sampleCpu({ ...groups, "load generator": [load.pid] });
  try {
    const run = await load.result;
    const cores = (window: { startedAt: number; endedAt: number }) =>
      sampler.coresBetween(window.startedAt, window.endedAt);
    return { run, cpu: { idle: cores(run.idle), steps: run.steps.map(cores) } };
  } finally {
    await sampler.stop();
  }
}

/** Acked on time per second of the step: what the system stored and confirmed at that rate. */
function persistedPerSecond(step: StepResult, size: Size): number {
  return step.ackedOnTime / (size.stepMs / 1000);
}

/** The sustained step with the highest rate, if any. */
function best(run: ChatRun): StepResult | undefined {
  return run.steps.filter((s) => s.sustained).at(-1);
}

function targetRows(ours: SystemRun, theirs: SystemRun, size: Size): Row[] {
  const top = (r: SystemRun) => {
    const step = best(r.run);
    return step ? persistedPerSecond(step, size) : 0;
  };
  // Every offered rate sustained: the system's ceiling lies above the top step.
  const atLeast = (r: SystemRun) =>
    r.run.steps.length === size.rates.length && r.run.steps.every((s) => s.sustained) ? "≥ " : "";
  const shown = (r: SystemRun) => `${atLeast(r)}${Math.round(top(r))}`;
  const verdict = (met: boolean) => met ? "met" : "missed";
  const p99At = (r: SystemRun) =>
    r.run.steps.find((s) => s.rate === targets.p99.rate)?.latencyMs.p99;
  const ourP99 = p99At(ours);
  const ratio = top(theirs) > 0 ? top(ours) / top(theirs) : top(ours) > 0 ? Infinity : 0;
  return [
    {
      measure: "highest sustained persisted msg/s",
      switchboard: shown(ours),
      "socket.io": shown(theirs),
      target: `≥ ${targets.persistedPerSecond}`,
      verdict: verdict(top(ours) >= targets.persistedPerSecond),
    },
    {
      measure: `p99 visitor→agent ms at ${targets.p99.rate} msg/s`,
      switchboard: ourP99 ?? null,
      "socket.io": p99At(theirs) ?? null,
      target: `< ${targets.p99.ms}`,
      verdict: ourP99 === undefined ? "not reached" : verdict(ourP99 < targets.p99.ms),
    },
    {
      measure: "sustained throughput ÷ socket.io",
      switchboard: `${atLeast(theirs) ? "≤ " : atLeast(ours)}${ratio.toFixed(2)}×`,
      target: `≥ ${targets.vsSocketIo}×`,
      verdict: verdict(ratio >= targets.vsSocketIo),
    },
    {
      measure: "messages stored / acked (whole run)",
      switchboard: `${ours.stored} / ${ours.run.acked}`,
      "socket.io": `${theirs.stored} / ${theirs.run.acked}`,
      target: "equal",
      verdict: verdict(ours.stored === ours.run.acked && theirs.stored === theirs.run.acked),
    },
  ];
}

function stepRows({ label, run }: SystemRun, size: Size): Row[] {
  return run.steps.map((step) => ({
    system: label,
    "offered msg/s": step.rate,
    "acked on time %": 100 * step.ackedOnTime / step.offered,
    "persisted msg/s": persistedPerSecond(step, size),
    "p50 ms": step.latencyMs.p50,
    "p99 ms": step.latencyMs.p99,
    "p999 ms": step.latencyMs.p999,
    "max ms": step.latencyMs.max,
    "ack p99 ms": step.ackMs.p99,
    refused: Object.values(step.refused).reduce((sum, n) => sum + n, 0),
    "generator late ms": step.sendLagMaxMs,
    "settled ms": step.settledMs,
    sustained: step.sustained ? "yes" : "no",
  }));
}

function cpuRows({ label, run, cpu }: SystemRun): Row[] {
  const row = (rate: number | string, cores: Cores) => ({
    system: label,
    "offered msg/s": rate,
    ...Object.fromEntries(cpuColumns.map((group) => [group, cores[group] ?? null])),
    "machine total": Object.values(cores).reduce((sum, n) => sum + n, 0),
    "server CPU ms/msg above idle": typeof rate === "number"
      ? 1000 * (serverCores(cores) - serverCores(cpu.idle)) / rate
      : null,
  });
  return [row("idle", cpu.idle), ...run.steps.map((step, i) => row(step.rate, cpu.steps[i]))];
}

// Each pair side by side: sustained rate, then p99 and the CPU all of the
// system's processes spent per delivered message (above idle) at the p99
// target's rate, or, when either stopped below it, at the top rate both ran.
function matchedRows(pairs: [SystemRun, SystemRun][], size: Size): Row[] {
  return pairs.flatMap(([ours, theirs]) => {
    const ran = (r: SystemRun) => r.run.steps.map((step) => step.rate);
    const both = ran(ours).filter((rate) => ran(theirs).includes(rate));
    const rate = both.includes(targets.p99.rate) ? targets.p99.rate : both.at(-1);
    const at = (r: SystemRun) => {
      const i = r.run.steps.findIndex((step) => step.rate === rate);
      if (i < 0 || r.run.steps[i].delivered === 0) return undefined;
      const perSecond = r.run.steps[i].delivered / (size.stepMs / 1000);
      const cpu = 1e6 * (serverCores(r.cpu.steps[i]) - serverCores(r.cpu.idle)) / perSecond;
      return { cpu, p99: r.run.steps[i].latencyMs.p99 };
    };
    const [mine, other] = [at(ours), at(theirs)];
    const ratio = mine && other ? mine.cpu / other.cpu : undefined;
    const target = ours.topology === "single" ? matchedCpuTarget : 1;
    const verdict = ratio === undefined ? "not reached" : ratio <= target ? "met" : "missed";
    const row = (r: SystemRun, measured: typeof mine) => {
      const top = best(r.run);
      return {
        system: r.label,
        "highest sustained persisted msg/s": Math.round(top ? persistedPerSecond(top, size) : 0),
        "at msg/s": rate ?? null,
        "p99 visitor→agent ms": measured?.p99 ?? null,
        "CPU µs per delivered message, all its processes": measured?.cpu ?? null,
        "÷ socket.io": r === ours && ratio !== undefined ? `${ratio.toFixed(2)}×` : null,
        target: r === ours ? `≤ ${target}×: ${verdict}` : null,
      };
    };
    return [row(ours, mine), row(theirs, other)];
  });
}

// Everything but the generator and the rest of the machine: the cost of serving the load.
function serverCores(cores: Cores): number {
  return Object.entries(cores).reduce(
    (sum, [group, n]) => group === "load generator" || group === otherGroup ? sum : sum + n,
    0,
  );
}
