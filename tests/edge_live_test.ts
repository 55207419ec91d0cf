// What the edge keeps of what it hears (presence, the tenants' waiting
// queues) stays bounded: expired or stale entries are forgotten.
import { assertEquals } from "@std/assert";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { subjects } from "../cluster/transport/subjects.ts";
import type { Transport } from "../cluster/transport/transport.ts";
import { createSharedState } from "../cluster/process/shared_state.ts";
import type { Backend } from "../cluster/protocol.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { ConversationHub } from "../edge/live/conversation_hub.ts";
import { Presence } from "../edge/live/presence.ts";
import { ReadMarkers } from "../edge/live/read_markers.ts";
import { type ClientFrame, decodeFrame } from "../edge/ws/frames.ts";
import { TenantFeed } from "../edge/live/tenant_feed.ts";
import { waitingList } from "../edge/ws/_watch.ts";

const log = createLogger({ test: true }, () => {});
const until = async (condition: () => boolean | Promise<boolean>, what: string) => {
  for (let waited = 0; !await condition(); waited += 10) {
    if (waited > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

function edgeState(bus: Transport, replica: string) {
  const shared = createSharedState({ transport: bus, prefix: "pt", replica, watchAll: false });
  shared.start();
  return shared;
}

Deno.test("presence: an agent is online while any edge's lease says so; a dead edge's lease expires", async () => {
  const hub = new InProcessBus();
  const buses = [0, 1, 2].map(() => hub.connect({ logger: log }));
  const states = buses.map((bus, i) => edgeState(bus, `edge-${i}`));
  const [a, b, reader] = states.map((shared, i) =>
    new Presence({ shared, edge: `edge-${i}`, leaseMs: 300, renewMs: 50, syncWaitMs: 50 })
  );
  try {
    assertEquals(await reader.onlineAgents("acme.eu"), 0);
    a.open("acme.eu");
    a.connect("acme.eu", "ana");
    b.open("acme.eu");
    b.connect("acme.eu", "ana");
    b.set("acme.eu", "ana", "away", { skills: ["billing"], teams: ["eu"] });
    await until(async () => (await reader.agents("acme.eu"))[0]?.edges.length === 2, "both");
    const [ana] = await reader.agents("acme.eu");
    assertEquals([ana.agent, ana.status], ["ana", "online"]);
    a.release("acme.eu", "ana");
    await until(async () => (await reader.agents("acme.eu"))[0]?.status === "away", "away");
    assertEquals((await reader.agents("acme.eu"))[0].skills, ["billing"]);
    // Edge b dies: it renews nothing, so its lease runs out.
    b.close();
    states[1].close();
    await until(async () => (await reader.agents("acme.eu")).length === 0, "the lease to expire");
    assertEquals(await reader.onlineAgents("acme.eu"), 0);
  } finally {
    for (const presence of [a, b, reader]) presence.close();
    await Promise.all(states.map((shared) => shared.close()));
    await Promise.all(buses.map((bus) => bus.close()));
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

Deno.test("tenant feed: the queue is sorted once per change, and a waiting conversation heard of again keeps its place", async () => {
  const bus = new InProcessBus().connect({ logger: log });
  const backend = {
    list: () => Promise.resolve({ items: [], nextCursor: null }),
  } as unknown as Backend;
  const feed = new TenantFeed(bus, backend, "fq");
  const summaries: string[] = [];
  const stop = feed.watch("acme", (summary) => summaries.push(summary.id));
  const publish = (id: string, status: string, createdAt?: number) =>
    bus.publish(subjects("fq").sessions("acme"), {
      id,
      status,
      agent: null,
      ...(createdAt !== undefined && { createdAt }),
    });
  try {
    publish("late", "queued", 20);
    publish("early", "queued", 10);
    publish("undated", "queued");
    await until(() => summaries.length === 3, "three summaries");
    const first = feed.queue("acme");
    assertEquals(first, ["early", "late", "undated"]);
    assertEquals(feed.queue("acme") === first, true, "the same array while nothing changed");
    // A summary without a start time used to take the time it was heard, again at every message.
    publish("undated", "queued");
    publish("early", "queued", 10);
    await until(() => summaries.length === 5, "two more summaries");
    assertEquals(feed.queue("acme") === first, true, "summaries of waiting ones changed nothing");
    publish("early", "assigned");
    await until(() => summaries.length === 6, "the assignment");
    assertEquals(feed.queue("acme"), ["late", "undated"]);
  } finally {
    stop();
    feed.close();
    await bus.close();
  }
});

Deno.test("waiting list: one list per queue array, whose key changes with its head", () => {
  const queue = ["a", "b"];
  const list = waitingList(queue);
  assertEquals(waitingList(queue) === list, true);
  assertEquals(list.frame, { t: "queue", waiting: 2, conversations: ["a", "b"] });
  const longer = waitingList(Array.from({ length: 60 }, (_, i) => `c${i}`));
  assertEquals(longer.frame.t === "queue" && longer.frame.conversations?.length, 50);
  assertEquals(waitingList(["a", "b"]).shown, list.shown);
  assertEquals(waitingList(["b", "a"]).shown === list.shown, false);
});

Deno.test("status frame: skills, languages and teams are optional lists of names", () => {
  assertEquals(decodeFrame(JSON.stringify({ t: "status", status: "online" })).ok, true);
  const frame: ClientFrame = {
    t: "status",
    status: "away",
    capacity: 3,
    skills: ["billing"],
    languages: ["de", "en"],
    teams: ["eu"],
  };
  const full = decodeFrame(JSON.stringify(frame));
  assertEquals(full.ok && full.frame, frame);
  for (const skills of ["billing", [""], [1], Array.from({ length: 51 }, (_, i) => `s${i}`)]) {
    const refused = decodeFrame(JSON.stringify({ t: "status", status: "online", skills }));
    assertEquals(!refused.ok && !refused.close && refused.error.code, "invalid_frame");
  }
});

// A backend that answers every head with seq 1, noting which conversations
// it was asked for (`reads`) and in how many calls (`calls`).
function headReads(): { reads: string[]; calls: string[][]; backend: Backend } {
  const reads: string[] = [];
  const calls: string[][] = [];
  const backend = {
    heads: (addresses: { id: string }[]) => {
      calls.push(addresses.map((address) => address.id));
      reads.push(...calls.at(-1)!);
      return Promise.resolve(addresses.map(() => ({ seq: 1, publicSeq: 1 })));
    },
  } as unknown as Backend;
  return { reads, calls, backend };
}

Deno.test("conversation hub: checkAll reads every watched conversation at once, one pushed to lately too", async () => {
  const bus = new InProcessBus().connect({ logger: log });
  const { calls, backend } = headReads();
  const hub = new ConversationHub(bus, "hq", { backend, headCheckMs: 60_000 });
  const heads: string[] = [];
  const stops = ["a", "b"].map((id) =>
    hub.watch("acme", id, (update) => update.kind === "head" && heads.push(id))
  );
  try {
    bus.publish(subjects("hq").conversation("acme", "a"), {
      seq: 1,
      type: "message",
      data: {},
      at: 0,
    });
    hub.checkAll();
    assertEquals(calls.map((ids) => ids.sort()), [["a", "b"]], "one call for all");
    await until(() => heads.length === 2, "both heads to reach their watchers");
  } finally {
    for (const stop of stops) stop();
    hub.close();
    await bus.close();
  }
});

Deno.test("conversation hub: a conversation pushed to since the last head check is not read at the next, a quiet one is", async () => {
  const bus = new InProcessBus().connect({ logger: log });
  const { reads, backend } = headReads();
  const hub = new ConversationHub(bus, "hc", { backend, headCheckMs: 150 });
  const heads: string[] = [];
  const stops = ["busy", "quiet"].map((id) =>
    hub.watch("acme", id, (update) => {
      if (update.kind === "head") heads.push(id);
    })
  );
  const push = () =>
    bus.publish(subjects("hc").conversation("acme", "busy"), {
      seq: 1,
      type: "message",
      data: {},
      at: 0,
    });
  const pushing = setInterval(push, 5);
  try {
    await until(() => reads.filter((id) => id === "quiet").length >= 2, "two checks");
    assertEquals(reads.filter((id) => id === "busy"), [], "a live conversation costs no reads");
    clearInterval(pushing);
    await until(() => reads.includes("busy"), "the busy one, once quiet, to be read");
    await until(() => heads.includes("busy"), "its head to reach the watcher");
  } finally {
    clearInterval(pushing);
    for (const stop of stops) stop();
    hub.close();
    await bus.close();
  }
});

Deno.test("read markers: one's own message raises the marker on every edge and is not checkpointed; a read is", async () => {
  const hub = new InProcessBus();
  const buses = [0, 1].map(() => hub.connect({ logger: log }));
  const states = buses.map((bus, i) => edgeState(bus, `edge-${i}`));
  const checkpoints: [string, number][] = [];
  const [writer, other] = states.map((shared) =>
    new ReadMarkers({
      shared,
      checkpoint: (_tenant, _conversation, by, seq) => {
        checkpoints.push([by.sub, seq]);
        return Promise.resolve();
      },
    })
  );
  const alice = { sub: "alice", role: "agent" };
  // An edge replicates the tenants its sockets are of.
  for (const shared of states) shared.watch("acme");
  try {
    writer.wrote("acme", "c-1", alice, 4);
    await until(() => other.marker("acme", "c-1", alice) === 4, "the raised marker replicated");
    assertEquals(checkpoints, [], "the actor counts its author's messages as read");
    writer.mark("acme", "c-1", alice, 6);
    assertEquals(writer.marker("acme", "c-1", alice), 6);
    assertEquals(checkpoints, [["alice", 6]]);
  } finally {
    for (const markers of [writer, other]) markers.close();
    await Promise.all(states.map((shared) => shared.close()));
    for (const bus of buses) await bus.close();
  }
});
