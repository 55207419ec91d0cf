// The process-level shared state: with Redis snapshots, what one process held
// is there for the next one to start, before it hears any peer; over NATS, a
// node holds what it routes with for every tenant and read markers only for
// the tenants of its own sockets.
import { assertEquals } from "@std/assert";
import { createSharedState, loadKey, readKey } from "../cluster/process/shared_state.ts";
import { RedisSnapshots } from "../cluster/crdt/redis_snapshots.ts";
import { connectRedis, redisReady } from "../cluster/store/redis.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { NATS_URL, REDIS_URL, uniqueName } from "./_support/services.ts";
import { until } from "./_support/until.ts";

Deno.test("shared state: a process started after a full stop is warm from Redis alone", async () => {
  const cluster = uniqueName("ss");
  const redis = connectRedis(REDIS_URL);
  const logger = createLogger({ test: "shared-state-snapshots" });
  const start = (replica: string) => {
    // A bus of its own: no peer can tell it anything.
    const transport = new InProcessBus().connect({ name: replica, logger });
    const shared = createSharedState({
      transport,
      prefix: cluster,
      replica,
      watchAll: true,
      snapshots: new RedisSnapshots({ redis, cluster }),
    });
    // A socket of the tenant on it: read markers are replicated for those only.
    shared.watch("acme");
    shared.start();
    return { shared, transport };
  };
  try {
    const first = start("node-a");
    await first.shared.read.ready;
    first.shared.read.update("acme", (markers) => markers.raise(readKey("c1", "agent:ana"), 7));
    await first.shared.close();
    await first.transport.close();

    const second = start("node-b");
    await second.shared.read.ready;
    assertEquals(second.shared.read.get("acme").get(readKey("c1", "agent:ana")), 7);
    await second.shared.close();
    await second.transport.close();
  } finally {
    await redisReady(redis);
    const keys = await redis.keys(`${cluster}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
});

Deno.test("shared state: a node replicates every tenant's presence and load, and read markers only of the tenants it watches", async () => {
  const cluster = uniqueName("sw");
  const start = async (replica: string, watchAll: boolean) => {
    const transport = await connectNatsTransport({ url: NATS_URL, name: replica });
    const shared = createSharedState({ transport, prefix: cluster, replica, watchAll });
    shared.start();
    return { shared, transport };
  };
  const edge = await start("edge-a", false);
  const node = await start("node-a", true);
  try {
    edge.shared.watch("acme");
    await Promise.all([edge.shared.read.ready, node.shared.read.ready]);
    const marker = readKey("c1", "agent:ana");
    edge.shared.read.update("acme", (markers) => markers.raise(marker, 7));
    edge.shared.load.update(
      "acme",
      (load) =>
        load.put(loadKey("ana", "edge-a"), { chats: 1, tickets: 0 }, edge.shared.clock.now()),
    );
    await until(() => node.shared.load.get("acme").value.size === 1);
    // The read delta went out before the load's; a node that held it would have it by now.
    await new Promise((resolve) => setTimeout(resolve, 100));
    assertEquals(node.shared.read.get("acme").get(marker), 0);
    // A socket of the tenant arrives at the node: it pulls the markers from its peers.
    node.shared.watch("acme");
    await until(() => node.shared.read.get("acme").get(marker) === 7);
  } finally {
    for (const { shared, transport } of [edge, node]) {
      await shared.close();
      await transport.close();
    }
  }
});
