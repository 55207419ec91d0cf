// Replicator snapshots in real Redis, metrics and tombstone collection: a
// cold replica is warm from Redis before any NATS message, one that starts
// while Redis is down converges over NATS, and Redis dying later stops
// nothing but the snapshots.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { HybridClock } from "../cluster/crdt/hlc.ts";
import { LwwMap } from "../cluster/crdt/lww_map.ts";
import { RedisSnapshots } from "../cluster/crdt/redis_snapshots.ts";
import { Replicator, type ReplicatorOptions } from "../cluster/crdt/replicator.ts";
import { connectRedis } from "../cluster/store/redis.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { type Transport, TransportUnavailableError } from "../cluster/transport/transport.ts";
import { deleteKeys, NATS_URL, REDIS_URL, uniqueName } from "./_support/services.ts";
import { accepting, freePort } from "./_support/ports.ts";
import { until } from "./_support/until.ts";

type Presence = LwwMap<string>;
const presenceType = {
  empty: () => LwwMap.empty<string>(),
  decode: (bytes: Uint8Array) =>
    LwwMap.decode(bytes, (value) => {
      if (typeof value !== "string") throw new TypeError("a status is a string");
      return value;
    }),
};

/** A transport that delivers nothing: what a replica sees before its first NATS sync. */
const silent: Transport = {
  request: () => Promise.reject(new TransportUnavailableError("silent")),
  serve: () => ({ close() {} }),
  publish() {},
  subscribe: () => ({ close() {} }),
  connected: false,
  onStatus() {},
  close: () => Promise.resolve(),
};

function replicator(
  options: Partial<ReplicatorOptions<Presence>> & { transport: Transport; prefix: string },
): Replicator<Presence> {
  return new Replicator<Presence>({
    dataSet: "presence",
    replica: uniqueName("r"),
    type: presenceType,
    snapshotIntervalMs: 50,
    logger: createLogger({}, () => {}),
    ...options,
  });
}

function statuses(r: Replicator<Presence>, tenant = "acme"): Record<string, string> {
  return Object.fromEntries([...r.get(tenant).value].sort());
}

/** A private redis-server on a free port, killed by the test (never the shared one). */
async function privateRedis(): Promise<{ url: string; kill(): Promise<void> }> {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await accepting(port);
  let killed = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (!killed) child.kill("SIGKILL");
      killed = true;
      await child.status;
    },
  };
}

Deno.test("snapshots: a cold replica is warm from Redis before any NATS message", async () => {
  const cluster = uniqueName("crdt");
  const redis = connectRedis(REDIS_URL);
  try {
    const snapshots = new RedisSnapshots({ redis, cluster });
    const clock = new HybridClock("writer");
    const writer = replicator({ transport: silent, prefix: cluster, snapshots });
    writer.watchAll();
    writer.start();
    await writer.ready;
    writer.update("acme", (s) => s.put("ana", "online", clock.now()));
    writer.update("ten:ant/with%odd", (s) => s.put("bo", "away", clock.now()));
    await writer.stop();
    assert(writer.stats.snapshotWrites >= 2);

    const node = replicator({ transport: silent, prefix: cluster, snapshots });
    node.watchAll();
    node.start();
    await node.ready;
    assertEquals(statuses(node), { ana: "online" });
    assertEquals(statuses(node, "ten:ant/with%odd"), { bo: "away" });
    assert(node.get("acme").equals(writer.get("acme")));

    const edge = replicator({ transport: silent, prefix: cluster, snapshots });
    edge.watch("acme");
    edge.start();
    await edge.ready;
    assertEquals(statuses(edge), { ana: "online" });
    assertEquals(statuses(edge, "ten:ant/with%odd"), {}); // not watched: not loaded
    await Promise.all([node.stop(), edge.stop()]);
  } finally {
    await deleteKeys(redis, `${cluster}:*`);
    redis.disconnect();
  }
});

Deno.test("snapshots: a replica started while Redis is down converges over NATS", async () => {
  const prefix = uniqueName("crdt");
  const down = connectRedis("redis://127.0.0.1:1", { log: createLogger({}, () => {}) });
  const transports = await Promise.all(
    ["a", "b"].map((name) => connectNatsTransport({ url: NATS_URL, name })),
  );
  const logs: string[] = [];
  const a = replicator({ transport: transports[0], prefix });
  const b = replicator({
    transport: transports[1],
    prefix,
    snapshots: new RedisSnapshots({ redis: down, cluster: prefix }),
    logger: createLogger({}, (line) => logs.push(line)),
  });
  try {
    const clock = new HybridClock("a");
    a.watchAll();
    a.start();
    a.update("acme", (s) => s.put("ana", "online", clock.now()));
    b.watch("acme");
    b.start();
    await b.ready; // the load failed, anti-entropy started all the same
    await until(() => statuses(b).ana === "online");
    a.update("acme", (s) => s.put("bo", "away", clock.now()));
    await until(() => statuses(b).bo === "away");
    await until(() => b.stats.snapshotFailures >= 2); // the load, then the write it retries
    assertEquals(logs.filter((line) => line.includes("could not")).length, 1);
  } finally {
    a.close();
    await b.stop();
    down.disconnect();
    await Promise.all(transports.map((t) => t.close()));
  }
});

Deno.test("snapshots: when Redis dies later replication goes on, errors logged once", async () => {
  const prefix = uniqueName("crdt");
  const server = await privateRedis();
  const redis = connectRedis(server.url, { log: createLogger({}, () => {}) });
  const transports = await Promise.all(
    ["a", "b"].map((name) => connectNatsTransport({ url: NATS_URL, name })),
  );
  const logs: string[] = [];
  const snapshots = new RedisSnapshots({ redis, cluster: prefix });
  const a = replicator({ transport: transports[0], prefix, snapshots });
  const b = replicator({
    transport: transports[1],
    prefix,
    snapshots,
    logger: createLogger({}, (line) => logs.push(line)),
  });
  try {
    const clock = new HybridClock("a");
    for (const r of [a, b]) {
      r.watch("acme");
      r.start();
      await r.ready;
    }
    a.update("acme", (s) => s.put("ana", "online", clock.now()));
    await until(() => statuses(b).ana === "online" && b.stats.snapshotWrites > 0);
    const stored = await snapshots.load("presence", ["acme"]);
    assertEquals(stored.length, 1);
    assertEquals(Object.fromEntries(presenceType.decode(stored[0][1]).value), { ana: "online" });

    await server.kill();
    for (let i = 0; i < 5; i++) {
      a.update("acme", (s) => s.put(`agent-${i}`, "online", clock.now()));
      await new Promise((resolve) => setTimeout(resolve, 60)); // past the snapshot interval
    }
    await until(() => statuses(b)["agent-4"] === "online");
    await until(() => b.stats.snapshotFailures >= 2);
    assertEquals(logs.filter((line) => line.includes("could not write snapshots")).length, 1);
    assertEquals(b.stats.deltasReceived, 6);
  } finally {
    a.close();
    b.close();
    redis.disconnect();
    await server.kill();
    await Promise.all(transports.map((t) => t.close()));
  }
});

Deno.test("replicator metrics: registered per data set and counting", async () => {
  const bus = new InProcessBus();
  const prefix = uniqueName("crdt");
  const metrics = new MetricsRegistry();
  const a = replicator({ transport: bus.connect(), prefix, replica: "a", metrics });
  const b = replicator({ transport: bus.connect(), prefix, replica: "b", metrics });
  try {
    for (const r of [a, b]) {
      r.watchAll();
      r.start();
    }
    const clock = new HybridClock("a");
    a.update("acme", (s) => s.put("ana", "online", clock.now()));
    await until(() => statuses(b).ana === "online");
    const text = metrics.render();
    assertMatch(text, /^sb_crdt_deltas_sent_total\{data_set="presence"\} 1$/m);
    assertMatch(text, /^sb_crdt_deltas_received_total\{data_set="presence"\} 1$/m);
    const bytes = a.stats.bytesSent;
    assert(bytes > 0);
    assertMatch(
      text,
      new RegExp(`^sb_crdt_sent_bytes_total\\{data_set="presence"\\} ${bytes}$`, "m"),
    );
    assertMatch(text, /^sb_crdt_convergence_lag_seconds_count\{data_set="presence"\} 1$/m);
    assertMatch(text, /^sb_crdt_merge_seconds_count\{data_set="presence"\} [2-9]\d*$/m);
    assertMatch(text, /^# TYPE sb_crdt_snapshot_failures_total counter$/m);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("replicator: tombstones are collected periodically past the window", async () => {
  const bus = new InProcessBus();
  const prefix = uniqueName("crdt");
  const metrics = new MetricsRegistry();
  const r = replicator({
    transport: bus.connect(),
    prefix,
    metrics,
    tombstoneWindowMs: 0,
    collectIntervalMs: 20,
  });
  const clock = new HybridClock("w");
  try {
    r.watchAll();
    r.start();
    r.update("acme", (s) => s.put("ana", "online", clock.now()));
    r.update("acme", (s) => s.put("bo", "online", clock.now()));
    r.update("acme", (s) => s.remove("ana", clock.now()));
    assertEquals(r.get("acme").tombstones, 1);
    await until(() => r.get("acme").tombstones === 0);
    assertEquals(statuses(r), { bo: "online" });
    assertEquals(r.stats.tombstonesCollected, 1);
    assertMatch(metrics.render(), /^sb_crdt_tombstones_collected_total\{data_set="presence"\} 1$/m);
  } finally {
    r.close();
  }
});

Deno.test("replicator: the default window keeps recent tombstones", () => {
  const r = replicator({ transport: silent, prefix: uniqueName("crdt") });
  const clock = new HybridClock("w");
  r.update("acme", (s) => s.remove("ana", clock.now()));
  r.collectTombstones(Date.now() + 9 * 60_000);
  assertEquals(r.get("acme").tombstones, 1);
  r.collectTombstones(Date.now() + 12 * 60_000);
  assertEquals(r.get("acme").tombstones, 0);
  r.close();
});
