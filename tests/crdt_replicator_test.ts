// The replicator over the real NATS transport: replicas converge through
// deltas, a replica that starts late catches up through anti-entropy, a
// partition that drops deltas heals, and bad messages are refused.
import { assert, assertEquals } from "@std/assert";
import { HybridClock } from "../cluster/crdt/hlc.ts";
import { LwwMap } from "../cluster/crdt/lww_map.ts";
import { Replicator } from "../cluster/crdt/replicator.ts";
import { crdtSubjects } from "../cluster/crdt/_subjects.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { type Transport, TransportUnavailableError } from "../cluster/transport/transport.ts";
import { NATS_URL, uniqueName } from "./_support/services.ts";

type Presence = LwwMap<string>;
const presenceType = {
  empty: () => LwwMap.empty<string>(),
  decode: (bytes: Uint8Array) =>
    LwwMap.decode(bytes, (value) => {
      if (typeof value !== "string") throw new TypeError("a status is a string");
      return value;
    }),
};

/** A transport whose replication traffic (deltas, digests, state pulls) fails while `cut` is set. */
interface Severable {
  transport: Transport;
  cut: boolean;
}

function severable(inner: Transport, crdtSubjects: string): Severable {
  const dropped = (subject: string) => seam.cut && subject.startsWith(crdtSubjects);
  const transport: Transport = {
    request(subject, payload, options) {
      if (dropped(subject)) return Promise.reject(new TransportUnavailableError("cut"));
      return inner.request(subject, payload, options);
    },
    serve: (subject, handler, options) =>
      inner.serve(subject, (payload, headers) => {
        if (dropped(subject)) return Promise.reject(new Error("cut"));
        return handler(payload, headers);
      }, options),
    publish(subject, payload, headers) {
      if (!dropped(subject)) inner.publish(subject, payload, headers);
    },
    subscribe: (subject, handler) =>
      inner.subscribe(subject, (payload, headers) => {
        if (!dropped(subject)) handler(payload, headers);
      }),
    get connected() {
      return inner.connected;
    },
    onStatus: (listener) => inner.onStatus(listener),
    close: () => inner.close(),
  };
  const seam: Severable = { cut: false, transport };
  return seam;
}

interface Replica {
  replicator: Replicator<Presence>;
  logs: string[];
  clock: HybridClock;
  seam: Severable;
  put(key: string, status: string): void;
}

async function cluster(count: number): Promise<
  AsyncDisposable & { replicas: Replica[]; prefix: string; add(): Promise<Replica> }
> {
  const prefix = uniqueName("crdt");
  const transports: Transport[] = [];
  const replicas: Replica[] = [];
  const add = async () => {
    const id = `r${replicas.length}`;
    const transport = await connectNatsTransport({ url: NATS_URL, name: id });
    transports.push(transport);
    const seam = severable(transport, `${prefix}.crdt.`);
    const logs: string[] = [];
    const replicator = new Replicator<Presence>({
      logger: createLogger({ replica: id }, (line) => logs.push(line)),
      transport: seam.transport,
      prefix,
      dataSet: "presence",
      replica: id,
      type: presenceType,
      // Only the test's own calls run anti-entropy, so a cut stays cut until it heals.
      antiEntropyIntervalMs: 3_600_000,
    });
    if (replicas.length === 0) replicator.watchAll();
    else replicator.watch("acme");
    replicator.start();
    const clock = new HybridClock(id);
    const replica: Replica = {
      replicator,
      logs,
      clock,
      seam,
      put: (key, status) => replicator.update("acme", (s) => s.put(key, status, clock.now())),
    };
    replicas.push(replica);
    return replica;
  };
  for (let i = 0; i < count; i++) await add();
  return {
    replicas,
    prefix,
    add,
    async [Symbol.asyncDispose]() {
      for (const { replicator } of replicas) replicator.close();
      await Promise.all(transports.map((transport) => transport.close()));
    },
  };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A replica's statuses, sorted by key so that equal maps print and compare equal. */
function statuses(replica: Replica): Record<string, string> {
  return Object.fromEntries([...replica.replicator.get("acme").value].sort());
}

function converged(replicas: Replica[]): boolean {
  const [first, ...rest] = replicas.map((r) => r.replicator.get("acme"));
  return rest.every((state) => state.equals(first));
}

Deno.test("replicator: three replicas converge through deltas", async () => {
  await using group = await cluster(3);
  const [a, b, c] = group.replicas;
  a.put("ana", "online");
  b.put("bo", "away");
  c.put("cy", "online");
  a.replicator.update("acme", (s) => s.remove("cy", a.clock.observe(c.clock.now())));
  const expected = { ana: "online", bo: "away" };
  await until(
    () => group.replicas.every((r) => JSON.stringify(statuses(r)) === JSON.stringify(expected)),
    "every replica holds ana and bo, and cy is removed",
  );
  assert(converged(group.replicas));
  assert(group.replicas.every((r) => r.replicator.stats.deltasReceived > 0));
});

Deno.test("replicator: a replica that starts late catches up through anti-entropy", async () => {
  await using group = await cluster(2);
  const [a, b] = group.replicas;
  a.put("ana", "online");
  b.put("bo", "away");
  await until(() => converged(group.replicas) && statuses(a).bo === "away", "a and b agree");
  const late = await group.add();
  await until(() => statuses(late).ana === "online" && statuses(late).bo === "away", "late syncs");
  assert(late.replicator.stats.statesPulled > 0);
});

Deno.test("replicator: a partition that dropped deltas is healed by anti-entropy", async () => {
  await using group = await cluster(3);
  const [a, b, c] = group.replicas;
  c.seam.cut = true;
  a.put("ana", "online");
  b.put("bo", "away");
  c.put("cy", "online");
  c.put("ana", "away"); // later than a's write: wins once it gets through
  await until(() => statuses(a).bo === "away" && statuses(b).ana === "online", "a and b agree");
  assertEquals(statuses(c), { cy: "online", ana: "away" });
  assertEquals(statuses(a), { ana: "online", bo: "away" });

  c.seam.cut = false;
  a.replicator.antiEntropy();
  const expected = JSON.stringify({ ana: "away", bo: "away", cy: "online" });
  await until(
    () => group.replicas.every((r) => JSON.stringify(statuses(r)) === expected),
    "the partition healed",
  );
  assert(converged(group.replicas));
  assert(a.replicator.stats.digestMismatches > 0 && c.replicator.stats.statesPulled > 0);
});

Deno.test("replicator: malformed messages are refused and replication goes on", async () => {
  await using group = await cluster(2);
  const [a, b] = group.replicas;
  const subjects = crdtSubjects(group.prefix, "presence");
  const raw = await connectNatsTransport({ url: NATS_URL, name: "raw" });
  try {
    raw.publish(subjects.deltas("acme"), "not a delta");
    raw.publish(subjects.deltas("acme"), { from: "x", tenant: "acme", delta: new Uint8Array([1]) });
    const wrongValue = LwwMap.empty<number>().put("ana", 7, a.clock.now()).encode();
    raw.publish(subjects.deltas("acme"), { from: "x", tenant: "acme", delta: wrongValue });
    raw.publish(subjects.digests, { from: "x" });
    await until(() => b.replicator.stats.rejected === 4, "b refused all four");
    assertEquals(b.logs.filter((line) => line.includes("refused a delta message")).length, 3);
    a.put("ana", "online");
    await until(() => statuses(b).ana === "online", "b takes the next good delta");
  } finally {
    await raw.close();
  }
});

interface DeltaMessage {
  delta: Uint8Array;
  at: number;
}

/** A bus, and every delta message published on it for tenant acme. */
function deltaListener(): { bus: InProcessBus; prefix: string; received: DeltaMessage[] } & {
  close(): void;
} {
  const bus = new InProcessBus();
  const prefix = uniqueName("crdt");
  const received: DeltaMessage[] = [];
  const subscription = bus.connect().subscribe(
    crdtSubjects(prefix, "presence").deltas("acme"),
    (payload) => received.push(payload as DeltaMessage),
  );
  return { bus, prefix, received, close: () => subscription.close() };
}

Deno.test("replicator: updates within the window ship as one merged delta; a full batch at once", async () => {
  const { bus, prefix, received, ...listener } = deltaListener();
  const replicator = new Replicator<Presence>({
    transport: bus.connect(),
    prefix,
    dataSet: "presence",
    replica: "r0",
    type: presenceType,
    batchWindowMs: 20,
    maxBatchUpdates: 4,
  });
  const clock = new HybridClock("r0");
  try {
    for (let i = 0; i < 10; i++) {
      replicator.update("acme", (s) => s.put(`agent-${i}`, "online", clock.now()));
    }
    // Two full batches left at once; the last two updates wait for the window.
    assertEquals(replicator.stats.deltasSent, 2);
    await until(() => received.length === 3, "the window closed");
    const shipped = received.map((message) => presenceType.decode(message.delta));
    assertEquals(shipped.map((delta) => delta.value.size), [4, 4, 2]);
    assert(shipped.reduce((a, b) => a.merge(b)).equals(replicator.get("acme")));
  } finally {
    replicator.close();
    listener.close();
  }
});

Deno.test("replicator: anti-entropy pulls only the buckets of keys that differ", async () => {
  const bus = new InProcessBus();
  const prefix = uniqueName("crdt");
  const replies: number[] = [];
  const recording = (inner: Transport): Transport => ({
    ...severable(inner, "-").transport,
    serve: (subject, handler, options) =>
      inner.serve(subject, async (payload, headers) => {
        const reply = await handler(payload, headers) as { states: [string, Uint8Array][] };
        for (const [, bytes] of reply.states) replies.push(bytes.length);
        return reply;
      }, options),
  });
  const b = severable(bus.connect(), `${prefix}.crdt.`);
  const make = (id: string, transport: Transport) =>
    new Replicator<Presence>({
      transport,
      prefix,
      dataSet: "presence",
      replica: id,
      type: presenceType,
      antiEntropyIntervalMs: 3_600_000,
    });
  const writer = make("a", recording(bus.connect()));
  const reader = make("b", b.transport);
  const clock = new HybridClock("a");
  try {
    for (const r of [writer, reader]) {
      r.watchAll();
      r.start();
    }
    for (let i = 0; i < 1000; i++) {
      writer.update("acme", (s) => s.put(`agent-${i}`, "online", clock.now()));
    }
    await until(() => reader.get("acme").value.size === 1000, "b has every agent");
    replies.length = 0; // pulls while the first deltas were in flight
    b.cut = true;
    writer.update("acme", (s) => s.put("agent-5", "away", clock.now()));
    await new Promise((resolve) => setTimeout(resolve, 20));
    b.cut = false;
    assertEquals(reader.get("acme").get("agent-5"), "online");
    reader.antiEntropy();
    await until(() => reader.get("acme").get("agent-5") === "away", "b pulled the change");
    assert(reader.get("acme").equals(writer.get("acme")));
    const full = writer.get("acme").encode().length;
    assert(
      replies.length > 0 && replies.every((bytes) => bytes * 20 < full),
      `${replies} of ${full}`,
    );
  } finally {
    writer.close();
    reader.close();
  }
});

Deno.test("replicator: the delta envelope carries the writer's time; full-state mode ships the state", async () => {
  const { bus, prefix, received, ...listener } = deltaListener();
  const full = new Replicator<Presence>({
    transport: bus.connect(),
    prefix,
    dataSet: "presence",
    replica: "w",
    type: presenceType,
    batchWindowMs: 1,
    shipFullState: true,
  });
  const clock = new HybridClock("w");
  try {
    const before = Date.now();
    full.update("acme", (s) => s.put("ana", "online", clock.now()));
    await until(() => received.length === 1, "the first batch left");
    full.update("acme", (s) => s.put("bo", "away", clock.now()));
    await until(() => received.length === 2, "the second batch left");
    assert(received[0].at >= before && received[0].at <= Date.now());
    assertEquals([...presenceType.decode(received[1].delta).value.keys()], ["ana", "bo"]);
  } finally {
    full.close();
    listener.close();
  }
});
