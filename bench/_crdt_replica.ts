// One replica process of the crdt scenario: a NATS connection and, per case,
// a presence Replicator (node-like: every tenant; edge-like: one tenant, and
// it writes its half of the agents). Commands arrive as JSON lines on stdin,
// answers leave as JSON lines on stdout. Every delta message merged here is
// timed against the `at` its writer stamped (the same wall clock: one
// machine), right after the merge, when the change is visible.
import process from "node:process";
import { HybridClock } from "../cluster/crdt/hlc.ts";
import { LwwMap } from "../cluster/crdt/lww_map.ts";
import { Replicator } from "../cluster/crdt/replicator.ts";
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import type { Transport } from "../cluster/transport/transport.ts";
import { NATS_URL } from "../tests/_support/services.ts";

/** An agent's presence, as edges will write it. */
export interface AgentPresence {
  status: "online" | "away";
  capacity: number;
  skills: string[];
  leaseUntil: number;
}

/** The commands a replica process takes. */
export type ReplicaCommand =
  | {
    op: "setup";
    prefix: string;
    tenant: string;
    role: "node" | "edge";
    fullState: boolean;
    agents: number;
    /** Edges write agents `i` with `i % writers === writer`. */
    writer?: number;
    writers: number;
  }
  | { op: "size" }
  /** Run an anti-entropy round now. */
  | { op: "sync" }
  /** Edges write `changes` changes at `changesPerSecond`. */
  | { op: "begin"; changesPerSecond: number; changes: number }
  | { op: "end" }
  | { op: "report" }
  | { op: "teardown" };

/** A replica's figures over one measured window. */
export interface ReplicaReport {
  /** `[writer, at, lag ms]` per delta message merged. */
  samples: [string, number, number][];
  cpuMicros: number;
  writes: number;
  bytesSent: number;
  deltasSent: number;
}

const id = Deno.args[0];
const transport = await connectNatsTransport({ url: NATS_URL, name: id });
const clock = new HybridClock(id);
const type = {
  empty: () => LwwMap.empty<AgentPresence>(),
  decode: (b: Uint8Array) => LwwMap.decode<AgentPresence>(b),
};

let current: Case | undefined;

interface Case {
  replicator: Replicator<LwwMap<AgentPresence>>;
  tenant: string;
  owned: string[];
  recording: boolean;
  samples: [string, number, number][];
  writes: number;
  cpu?: ReturnType<typeof process.cpuUsage>;
  sent?: { bytesSent: number; deltasSent: number };
  writing?: ReturnType<typeof setInterval>;
}

function timed(
  inner: Transport,
  record: (payload: { from: string; at: number }) => void,
): Transport {
  return {
    request: (subject, payload, options) => inner.request(subject, payload, options),
    serve: (subject, handler, options) => inner.serve(subject, handler, options),
    publish: (subject, payload, headers) => inner.publish(subject, payload, headers),
    onStatus: (listener) => inner.onStatus(listener),
    close: () => inner.close(),
    get connected() {
      return inner.connected;
    },
    subscribe: (subject, handler) =>
      inner.subscribe(subject, (payload, headers) => {
        handler(payload, headers);
        if (subject.includes(".delta.")) record(payload as { from: string; at: number });
      }),
  };
}

function presence(status: AgentPresence["status"]): AgentPresence {
  return { status, capacity: 3, skills: ["billing", "en"], leaseUntil: Date.now() + 15_000 };
}

// Merged pairwise, so seeding n agents costs n log n, not n².
function mergeAll<T extends { merge(other: T): T }>(values: T[]): T {
  while (values.length > 1) {
    const next: T[] = [];
    for (let i = 0; i < values.length; i += 2) {
      next.push(i + 1 < values.length ? values[i].merge(values[i + 1]) : values[i]);
    }
    values = next;
  }
  return values[0];
}

function setup(command: Extract<ReplicaCommand, { op: "setup" }>): void {
  const owned = command.writer === undefined ? [] : Array.from(
    { length: Math.ceil((command.agents - command.writer) / command.writers) },
    (_, i) => `agent-${command.writer! + i * command.writers}`,
  );
  const state: Case = {
    tenant: command.tenant,
    owned,
    recording: false,
    samples: [],
    writes: 0,
    replicator: undefined!,
  };
  state.replicator = new Replicator({
    transport: timed(transport, ({ from, at }) => {
      if (state.recording && from !== id) state.samples.push([from, at, Date.now() - at]);
    }),
    prefix: command.prefix,
    dataSet: "presence",
    replica: id,
    type,
    shipFullState: command.fullState,
    logger: createLogger({ replica: id }),
  });
  if (command.role === "node") state.replicator.watchAll();
  else state.replicator.watch(command.tenant);
  state.replicator.start();
  if (owned.length > 0) {
    const empty = type.empty();
    state.replicator.update(
      command.tenant,
      () => mergeAll(owned.map((agent) => empty.put(agent, presence("online"), clock.now()))),
    );
  }
  current = state;
}

function begin(changesPerSecond: number, changes: number): void {
  const state = current!;
  state.samples = [];
  state.recording = true;
  state.cpu = process.cpuUsage();
  const { bytesSent, deltasSent } = state.replicator.stats;
  state.sent = { bytesSent, deltasSent };
  state.writes = 0;
  if (state.owned.length === 0) return;
  const started = performance.now();
  state.writing = setInterval(() => {
    const elapsed = performance.now() - started;
    const due = Math.min(changes, Math.floor(elapsed * changesPerSecond / 1000));
    while (state.writes < due) {
      const agent = state.owned[Math.floor(Math.random() * state.owned.length)];
      const status = state.writes % 2 === 0 ? "away" : "online";
      state.replicator.update(state.tenant, (s) => s.put(agent, presence(status), clock.now()));
      state.writes++;
    }
  }, 5);
}

function report(): ReplicaReport {
  const state = current!;
  state.recording = false;
  const cpu = process.cpuUsage(state.cpu);
  const stats = state.replicator.stats;
  return {
    samples: state.samples,
    cpuMicros: cpu.user + cpu.system,
    writes: state.writes,
    bytesSent: stats.bytesSent - state.sent!.bytesSent,
    deltasSent: stats.deltasSent - state.sent!.deltasSent,
  };
}

function handle(command: ReplicaCommand): unknown {
  switch (command.op) {
    case "setup":
      return setup(command);
    case "size":
      return { size: current!.replicator.get(current!.tenant).value.size };
    case "sync":
      return current!.replicator.antiEntropy();
    case "begin":
      return begin(command.changesPerSecond, command.changes);
    case "end":
      return clearInterval(current!.writing);
    case "report":
      return report();
    case "teardown":
      current?.replicator.close();
      current = undefined;
  }
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(
  new TextLineStream(),
);
console.log(JSON.stringify({ ready: id }));
for await (const line of lines) console.log(JSON.stringify(handle(JSON.parse(line)) ?? {}));
await transport.close();
