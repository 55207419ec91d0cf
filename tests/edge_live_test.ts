// What the edge keeps of what it hears (presence, the tenants' waiting
// queues) stays bounded: expired or stale entries are forgotten.
import { assertEquals } from "@std/assert";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { subjects } from "../cluster/transport/subjects.ts";
import type { Backend } from "../cluster/protocol.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { Presence } from "../edge/live/presence.ts";
import { TenantFeed } from "../edge/live/tenant_feed.ts";

const log = createLogger({ test: true }, () => {});
const until = async (condition: () => boolean, what: string) => {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

Deno.test("presence: announcements of agents that vanished without offline are forgotten", async () => {
  const bus = new InProcessBus().connect({ logger: log });
  const presence = new Presence({ bus, cluster: "pt", edge: "here", announceMs: 20, ttlMs: 60 });
  try {
    for (let i = 0; i < 200; i++) {
      bus.publish(subjects("pt").presence(`tenant${i}`), {
        tenant: `tenant${i}`,
        sub: "agent",
        status: "online",
        capacity: 1,
        edge: "dead-edge",
      });
    }
    await until(() => presence.heard === 200, "the announcements");
    assertEquals(presence.onlineAgents("tenant7"), 1);
    await until(() => presence.heard === 0, "the announcements to expire");
    assertEquals(presence.onlineAgents("tenant7"), 0);
  } finally {
    presence.close();
    await bus.close();
  }
});

Deno.test("tenant feed: a waiting conversation whose close was never heard leaves the queue at the next read", async () => {
  const bus = new InProcessBus().connect({ logger: log });
  const stored = new Map([["a", 1], ["b", 2]]);
  const backend = {
    list: () =>
      Promise.resolve({
        items: [...stored].map(([id, createdAt]) => ({ id, status: "queued", createdAt })),
        nextCursor: null,
      }),
  } as unknown as Backend;
  const feed = new TenantFeed(bus, backend, "ft", { refreshMs: 20 });
  const stop = feed.watch("acme", () => {});
  try {
    await until(() => feed.queue("acme").length === 2, "the first read");
    stored.delete("a"); // closed, and its summary lost on the way
    const heard = { id: "c", status: "queued", agent: null, createdAt: 3 };
    bus.publish(subjects("ft").sessions("acme"), heard);
    stored.set("c", 3);
    await until(() => !feed.queue("acme").includes("a"), "the stale entry to go");
    assertEquals(feed.queue("acme"), ["b", "c"]);
  } finally {
    stop();
    feed.close();
    await bus.close();
  }
});
