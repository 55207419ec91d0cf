// The process-level shared state with Redis snapshots: what one process held
// is there for the next one to start, before it hears any peer.
import { assertEquals } from "@std/assert";
import { createSharedState, readKey } from "../cluster/process/shared_state.ts";
import { RedisSnapshots } from "../cluster/crdt/redis_snapshots.ts";
import { connectRedis, redisReady } from "../cluster/store/redis.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { REDIS_URL, uniqueName } from "./_support/services.ts";

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
