/**
 * CRDT replication: how long a presence change takes to reach every other
 * process, and what it costs on the wire and in CPU. Five processes run only
 * presence replicators over the real NATS (3 node-like ones replicate every
 * tenant, 2 edge-like ones watch the tenant and each write half of its
 * agents); the edges make 100 status changes/s between them at 1,000 and
 * 10,000 agents per tenant. Each case runs twice, side by side: shipping
 * deltas, and the baseline shipping the tenant's full state per batch.
 *
 * Each case measures after one anti-entropy round (see `settleMs`); the
 * periodic rounds (every 5 s) run during the measuring, as in production.
 *
 * Lag: from the write (the delta's creation, stamped in the batch envelope)
 * to its merge on a receiver, and the p50/p99 over changes of the slowest
 * of the four receivers (visible everywhere). Bytes: encoded CRDT bytes
 * published per change (a full-state message that falls behind carries
 * several changes, so per message is shown too). CPU: user + system time per change, per process.
 *
 * @module
 */
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { uniqueName } from "../tests/_support/services.ts";
import type { ReplicaCommand, ReplicaReport } from "./_crdt_replica.ts";
import { sleep } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { quantile } from "./_stats.ts";

const sizes = {
  full: { agents: [1_000, 10_000], deltaSeconds: 10, fullStateSeconds: 5 },
  quick: { agents: [1_000], deltaSeconds: 3, fullStateSeconds: 2 },
};
const changesPerSecond = 100;
const roles = ["node", "node", "node", "edge", "edge"] as const;
const targets = { p99Ms: 100, bytesRatio: 100 };
/** How long the start's anti-entropy round gets before a case measures. */
const settleMs = 2_000;
/** How long a case waits for the last changes to arrive everywhere. */
const drainMs = 2_000;

/** One replica process, answering one command at a time. */
class ReplicaProcess implements AsyncDisposable {
  readonly id: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: ReadableStreamDefaultReader<string>;

  private constructor(id: string, child: Deno.ChildProcess) {
    this.id = id;
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TextLineStream(),
    ).getReader();
  }

  static async spawn(id: string): Promise<ReplicaProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_crdt_replica.ts", import.meta.url).pathname, id],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const replica = new ReplicaProcess(id, child);
    await replica.#read(); // {"ready": id}
    return replica;
  }

  async send<T = unknown>(command: ReplicaCommand): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
    return await this.#read() as T;
  }

  async #read(): Promise<unknown> {
    const { value, done } = await this.#lines.read();
    if (done) throw new Error(`replica ${this.id} exited`);
    return JSON.parse(value);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
  }
}

interface CaseResult {
  agents: number;
  mode: "deltas" | "full state";
  changes: number;
  /** Changes some receiver never merged within the drain. */
  undelivered: number;
  /** Per change, the slowest receiver's lag (ms). */
  everywhereP50: number;
  everywhereP99: number;
  /** Over every (change, receiver) pair. */
  eachP50: number;
  eachP99: number;
  bytesPerChange: number;
  /** A message holds one batch: a delta, or the whole state. */
  bytesPerMessage: number;
  cpuMicrosPerChange: { node: number; edge: number };
}

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  await using stack = new AsyncDisposableStack();
  const replicas = await Promise.all(
    roles.map((role, i) => ReplicaProcess.spawn(`${role}-${i}`)),
  );
  for (const replica of replicas) stack.use(replica);
  const cases: CaseResult[] = [];
  for (const agents of size.agents) {
    for (const fullState of [false, true]) {
      const seconds = fullState ? size.fullStateSeconds : size.deltaSeconds;
      cases.push(await runCase(replicas, agents, fullState, seconds, signal));
    }
  }
  return {
    scenario: "crdt",
    tables: [
      { title: "presence changes across 5 processes", rows: cases.map(caseRow) },
      { title: "targets", rows: targetRows(cases) },
    ],
    details: { changesPerSecond, roles, size, targets, cases },
  };
}

async function runCase(
  replicas: ReplicaProcess[],
  agents: number,
  fullState: boolean,
  seconds: number,
  signal: AbortSignal,
): Promise<CaseResult> {
  const prefix = uniqueName("bench_crdt");
  const writers = roles.filter((role) => role === "edge").length;
  let writer = 0;
  for (const [i, replica] of replicas.entries()) {
    await replica.send({
      op: "setup",
      prefix,
      tenant: "acme",
      role: roles[i],
      fullState,
      agents,
      writer: roles[i] === "edge" ? writer++ : undefined,
      writers,
    });
  }
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sizes = await Promise.all(replicas.map((r) => r.send<{ size: number }>({ op: "size" })));
    if (sizes.every(({ size }) => size === agents)) break;
    if (Date.now() > deadline) throw new Error(`seeding ${agents} agents did not converge`);
    await sleep(100, signal);
  }
  // One anti-entropy round now, so that its one-off costs at start (pulls of
  // the seed, the first digest of every entry) settle before the measuring.
  for (const replica of replicas) await replica.send({ op: "sync" });
  await sleep(settleMs, signal);
  for (const replica of replicas) {
    const rate = changesPerSecond / writers;
    await replica.send({ op: "begin", changesPerSecond: rate, changes: rate * seconds });
  }
  await sleep(seconds * 1000, signal);
  for (const replica of replicas) await replica.send({ op: "end" });
  await sleep(drainMs, signal);
  const reports = await Promise.all(replicas.map((r) => r.send<ReplicaReport>({ op: "report" })));
  for (const replica of replicas) await replica.send({ op: "teardown" });
  return summarize(agents, fullState, reports);
}

function summarize(agents: number, fullState: boolean, reports: ReplicaReport[]): CaseResult {
  const changes = reports.reduce((sum, r) => sum + r.writes, 0);
  const messages = reports.reduce((sum, r) => sum + r.deltasSent, 0);
  const bytes = reports.reduce((sum, r) => sum + r.bytesSent, 0);
  // A message reaches every process but its writer.
  const receivers = reports.length - 1;
  const slowest = new Map<string, { lag: number; seen: number }>();
  const each: number[] = [];
  for (const report of reports) {
    for (const [writer, at, lag] of report.samples) {
      each.push(lag);
      const key = `${writer}@${at}`;
      const entry = slowest.get(key) ?? { lag: 0, seen: 0 };
      slowest.set(key, { lag: Math.max(entry.lag, lag), seen: entry.seen + 1 });
    }
  }
  const everywhere = [...slowest.values()].filter((e) => e.seen === receivers).map((e) => e.lag)
    .sort((a, b) => a - b);
  each.sort((a, b) => a - b);
  const cpu = (role: string) => {
    const mine = reports.filter((_, i) => roles[i] === role);
    return mine.reduce((sum, r) => sum + r.cpuMicros, 0) / mine.length / Math.max(1, changes);
  };
  return {
    agents,
    mode: fullState ? "full state" : "deltas",
    changes,
    undelivered: messages - everywhere.length,
    everywhereP50: quantile(everywhere, 0.5),
    everywhereP99: quantile(everywhere, 0.99),
    eachP50: quantile(each, 0.5),
    eachP99: quantile(each, 0.99),
    bytesPerChange: bytes / Math.max(1, changes),
    bytesPerMessage: bytes / Math.max(1, messages),
    cpuMicrosPerChange: { node: cpu("node"), edge: cpu("edge") },
  };
}

function caseRow(c: CaseResult): Row {
  return {
    agents: c.agents,
    replication: c.mode,
    changes: c.changes,
    "messages not everywhere": c.undelivered,
    "everywhere p50 ms": c.everywhereP50,
    "everywhere p99 ms": c.everywhereP99,
    "per receiver p99 ms": c.eachP99,
    "bytes/change": Math.round(c.bytesPerChange),
    "bytes/message": Math.round(c.bytesPerMessage),
    "CPU µs/change, node": Math.round(c.cpuMicrosPerChange.node),
    "CPU µs/change, edge": Math.round(c.cpuMicrosPerChange.edge),
  };
}

function targetRows(cases: CaseResult[]): Row[] {
  const largest = Math.max(...cases.map((c) => c.agents));
  const deltas = cases.find((c) => c.agents === largest && c.mode === "deltas")!;
  const full = cases.find((c) => c.agents === largest && c.mode === "full state")!;
  const ratio = full.bytesPerChange / deltas.bytesPerChange;
  return [
    {
      target: `p99 everywhere < ${targets.p99Ms} ms at ${largest} agents`,
      measured: deltas.everywhereP99,
      met: deltas.everywhereP99 < targets.p99Ms && deltas.undelivered === 0 ? "yes" : "no",
    },
    {
      target: `full-state bytes ≥ ${targets.bytesRatio}× delta bytes at ${largest} agents`,
      measured: ratio,
      met: ratio >= targets.bytesRatio ? "yes" : "no",
    },
  ];
}
