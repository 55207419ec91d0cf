// Membership between separate connections to the real NATS server, each
// standing for one process, with the default timings of production.
import { assert, assertEquals, assertLess, assertNotEquals, assertThrows } from "@std/assert";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import {
  type MemberRole,
  Membership,
  type MembershipView,
} from "../cluster/placement/membership.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import type { Transport } from "../cluster/transport/transport.ts";
import { NATS_URL, uniqueName } from "./_support/services.ts";

const DEAD_AFTER_MS = 1000;

/** One process of the cluster: its membership and the transport it owns. */
interface Process extends AsyncDisposable {
  membership: Membership;
  transport: Transport;
}

Deno.test("nodes and edges converge on the same view", async () => {
  const cluster = uniqueName("sbt");
  await using a = await join(cluster, "node-a", "node");
  await using b = await join(cluster, "node-b", "node");
  await using edge = await join(cluster, "edge-1", "edge");
  await Promise.all([a, b, edge].map((process) => process.membership.ready));

  for (const process of [a, b, edge]) {
    assertEquals(process.membership.view.nodes, ["node-a", "node-b"]);
    assertEquals(process.membership.view.edges, ["edge-1"]);
  }
  assertEquals(a.membership.viewId, edge.membership.viewId);
  assertEquals(b.membership.viewId, edge.membership.viewId);
  // Every reader shares the view object.
  assertThrows(() => a.membership.view.nodes.push("node-x"));
});

Deno.test("a node that stops is dropped at once", async () => {
  const cluster = uniqueName("sbt");
  await using a = await join(cluster, "node-a", "node");
  await using b = await join(cluster, "node-b", "node");
  await using c = await join(cluster, "node-c", "node");
  await Promise.all([a, b, c].map((process) => process.membership.ready));
  assertEquals(a.membership.view.nodes, ["node-a", "node-b", "node-c"]);

  const began = performance.now();
  c.membership.stop();
  await Promise.all([a, b].map((process) => nodesBecome(process, ["node-a", "node-b"])));
  const elapsed = performance.now() - began;
  console.log(`leave seen by both peers after ${elapsed.toFixed(1)} ms`);
  // Silence alone could not drop it this soon.
  assertLess(elapsed, DEAD_AFTER_MS);
  assertEquals(c.membership.view.nodes, ["node-a", "node-b"]);
});

Deno.test("a node that dies silently is dropped after deadAfterMs; it keeps its own view", async () => {
  const cluster = uniqueName("sbt");
  await using a = await join(cluster, "node-a", "node");
  await using b = await join(cluster, "node-b", "node");
  await using c = await join(cluster, "node-c", "node");
  await Promise.all([a, b, c].map((process) => process.membership.ready));

  const began = performance.now();
  await c.transport.close();
  await Promise.all([a, b].map((process) => nodesBecome(process, ["node-a", "node-b"])));
  const elapsed = performance.now() - began;
  console.log(`silent node dropped by both peers after ${elapsed.toFixed(0)} ms`);
  assertLess(elapsed, DEAD_AFTER_MS + 1000);
  // Cut off from the bus, it must not conclude it is alone and own everything.
  assertEquals(c.membership.view.nodes, ["node-a", "node-b", "node-c"]);
});

Deno.test("a joining node shows up everywhere and moves every epoch on", async () => {
  const cluster = uniqueName("sbt");
  await using a = await join(cluster, "node-a", "node");
  await using edge = await join(cluster, "edge-1", "edge");
  await Promise.all([a, edge].map((process) => process.membership.ready));
  const before = [a, edge].map((process) => process.membership.view);
  assertEquals(before[0].viewId, before[1].viewId);
  const announced: MembershipView[] = [];
  a.membership.onChange((view) => announced.push(view));

  await using b = await join(cluster, "node-b", "node");
  await Promise.all([a, edge].map((process) => nodesBecome(process, ["node-a", "node-b"])));
  await b.membership.ready;
  const after = [a, edge].map((process) => process.membership.view);
  for (const [i, view] of after.entries()) {
    assertEquals(view.epoch, before[i].epoch + 1);
    assertNotEquals(view.viewId, before[i].viewId);
    assertEquals(view.viewId, b.membership.view.viewId);
  }
  assertEquals(announced, [a.membership.view]);
});

Deno.test("a draining node leaves the view but keeps following the cluster", async () => {
  const cluster = uniqueName("sbt");
  await using a = await join(cluster, "node-a", "node");
  await using b = await join(cluster, "node-b", "node");
  await Promise.all([a, b].map((process) => process.membership.ready));
  const epoch = b.membership.view.epoch;

  b.membership.leave();
  assertEquals(b.membership.view.nodes, ["node-a"]);
  assertEquals(b.membership.view.epoch, epoch + 1);
  await nodesBecome(a, ["node-a"]);

  await using c = await join(cluster, "node-c", "node");
  await Promise.all([a, b, c].map((process) => nodesBecome(process, ["node-a", "node-c"])));
});

Deno.test("while the bus is down the view holds; after it, peers get a grace period", async () => {
  // The in-process bus can go down without disturbing the shared NATS server.
  const bus = new InProcessBus();
  const timings = { heartbeatMs: 100, deadAfterMs: 400 };
  const logger = createLogger({}, () => {});
  const [a, b] = ["node-a", "node-b"].map((id) =>
    new Membership({
      transport: bus.connect({ logger }),
      cluster: "sb",
      id,
      role: "node",
      logger,
      ...timings,
    })
  );
  try {
    a.start();
    b.start();
    await Promise.all([a.ready, b.ready]);
    const view = a.view;
    assertEquals(view.nodes, ["node-a", "node-b"]);

    bus.setOnline(false);
    // b's leave is lost with the bus: to a, b just falls silent.
    b.stop();
    await delay(3 * timings.deadAfterMs);
    assertEquals(a.view, view);

    bus.setOnline(true);
    await delay(timings.deadAfterMs / 2);
    assertEquals(a.view, view);
    await until(() => a.view.nodes.length === 1);
    assertEquals(a.view.nodes, ["node-a"]);
    assertEquals(a.view.epoch, view.epoch + 1);
  } finally {
    a.stop();
    b.stop();
  }
});

async function join(cluster: string, id: string, role: MemberRole): Promise<Process> {
  const logger = createLogger({ id }, () => {});
  const transport = await connectNatsTransport({ url: NATS_URL, name: id, logger });
  const membership = new Membership({ transport, cluster, id, role, logger });
  membership.start();
  return {
    membership,
    transport,
    async [Symbol.asyncDispose]() {
      membership.stop();
      await transport.close();
    },
  };
}

function nodesBecome(process: Process, nodes: string[]): Promise<void> {
  return until(() => equalIds(process.membership.view.nodes, nodes));
}

function equalIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    assert(performance.now() < deadline, `condition not met within ${timeoutMs} ms`);
    await delay(5);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
