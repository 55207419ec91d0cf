// Timer and outbox polls on real Postgres: each node pages past other nodes'
// due rows to its own, however many foreign rows come first, and a command its
// target refuses for good is parked in the dead letters, never dropped.
import { assert, assertEquals, assertObjectMatch } from "@std/assert";
import type { ActorRequest, ActorResponse } from "../cluster/protocol.ts";
import { OutboxRelay } from "../cluster/runtime/outbox_relay.ts";
import { TimerScheduler } from "../cluster/runtime/timer_scheduler.ts";
import type { AppendRequest, OutboxEntry } from "../cluster/store/event_store.ts";
import { queryStore, unwrapQuery } from "../cluster/store/store_query.ts";
import { withPostgresStore } from "./_support/postgres_store.ts";
import { until } from "./_support/until.ts";

// More foreign rows than either poll's page, all older than this node's own.
const FOREIGN = 1200;

function created(actorKey: string, extra: Partial<AppendRequest>): AppendRequest {
  return {
    actorKey,
    expectedSeq: 0,
    events: [{ seq: 1, type: "created", data: {}, commandId: `c:${actorKey}`, at: 1 }],
    ...extra,
  };
}

const keys = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `counter/t/${prefix}-${i}`);
const isOwn = (actorKey: string) => actorKey.includes("/own-");
const ok: ActorResponse = { ok: true, reply: null, seq: 1 };

Deno.test("timers: a node fires its own due timers behind more foreign ones than a page", async () => {
  await withPostgresStore(async (store) => {
    const now = Date.now();
    await store.appendBatch([
      ...keys("foreign", FOREIGN).map((key) =>
        created(key, { timers: { set: [{ name: "sla", at: now - 60_000 }], delete: [] } })
      ),
      ...keys("own", 3).map((key) =>
        created(key, { timers: { set: [{ name: "sla", at: now - 1000 }], delete: [] } })
      ),
    ]);
    const delivered: ActorRequest[] = [];
    const scheduler = new TimerScheduler({
      store,
      isLocal: isOwn,
      pollMs: 50,
      deliver: (request) => (delivered.push(request), Promise.resolve(ok)),
    });
    scheduler.start();
    try {
      await until(() => delivered.length >= 3, 10_000);
    } finally {
      scheduler.stop();
    }
    assertEquals(delivered.map((r) => r.address.id).sort(), ["own-0", "own-1", "own-2"]);
    assertEquals((await store.dueTimers(now - 30_000, 2 * FOREIGN)).length, FOREIGN, "not fired");
  });
});

Deno.test("outbox: a node relays its own leftovers behind more foreign ones than a page", async () => {
  await withPostgresStore(async (store) => {
    const entry = (actorKey: string, createdAt: number): OutboxEntry => ({
      actorKey,
      seq: 1,
      idx: 0,
      address: { kind: "counter", tenant: "t", id: `target-of-${actorKey.split("/")[2]}` },
      command: { type: "add" },
      commandId: `outbox:${actorKey}`,
      createdAt,
    });
    await store.appendBatch([
      ...keys("foreign", FOREIGN).map((key) => created(key, { outbox: [entry(key, 1000)] })),
      ...keys("own", 2).map((key) => created(key, { outbox: [entry(key, 2000)] })),
    ]);
    const delivered: ActorRequest[] = [];
    const parked: OutboxEntry[] = [];
    // The first own command is accepted; the second is refused for good.
    const refusal = { code: "ticket_closed", message: "closed", retryable: false };
    const relay = new OutboxRelay({
      store,
      isLocal: isOwn,
      pollMs: 50,
      staleMs: 0,
      deliver: (request) => {
        delivered.push(request);
        return Promise.resolve(
          request.address.id === "target-of-own-1" ? { ok: false, error: refusal } : ok,
        );
      },
      onDeadLetter: (entry) => parked.push(entry),
    });
    relay.start();
    try {
      await until(() => parked.length === 1, 10_000);
    } finally {
      relay.stop();
    }
    assert(delivered.every((r) => r.address.id.startsWith("target-of-own-")));
    assertEquals(parked.map((e) => e.actorKey), ["counter/t/own-1"]);
    const pending = await store.pendingOutbox(Date.now(), 2 * FOREIGN);
    assertEquals(pending.filter((e) => !isOwn(e.actorKey)).length, FOREIGN, "not relayed");
    assert(!pending.some((e) => e.actorKey === "counter/t/own-1"), "moved, not copied");
    const [dead, ...more] = await store.outboxDeadLetters(10);
    assertEquals(more, []);
    assertObjectMatch(dead, { ...entry("counter/t/own-1", 2000), error: refusal });
    // What the ops route reads, through the same store query an edge sends.
    const shown = unwrapQuery(await queryStore(store, { op: "deadLetters", limit: 10 }));
    assertEquals(shown, [dead]);
  });
});
