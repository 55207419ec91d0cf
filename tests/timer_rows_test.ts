// Durable timers are written as changes on real Postgres: a queue holds one
// timer per waiting item, and a turn touches only the rows of the timers it
// changed (their xmin tells), merged turns keep the last word per name, and a
// stale or reloaded activation leaves exactly the timers its state wants.
import { assert, assertEquals } from "@std/assert";
import postgres from "postgres";
import {
  defaultRoutingSettings,
  defaultTenantSettings,
  type TenantSettings,
} from "../actors/decider.ts";
import { queueDecider } from "../actors/queue.ts";
import type { ActorRequest } from "../cluster/protocol.ts";
import { ActorHost } from "../cluster/runtime/host.ts";
import type { AppendRequest, EventStore, TimerChanges } from "../cluster/store/event_store.ts";
import { GroupCommitter } from "../cluster/store/group_committer.ts";
import type { SqlEventStore } from "../cluster/store/sql_event_store.ts";
import { withPostgresStore } from "./_support/postgres_store.ts";
import { DATABASE_URL, overrideStore } from "./_support/services.ts";

const QUEUE = "queue/t/main";
const settings: TenantSettings = {
  ...defaultTenantSettings,
  routing: { ...defaultRoutingSettings, relaxation: [{ afterMs: 3_600_000, drop: "optional" }] },
};

let commandIds = 0;
const toQueue = (command: ActorRequest["command"]): ActorRequest => ({
  address: { kind: "queue", tenant: "t", id: "main" },
  op: "command",
  command,
  commandId: `timer-rows-${++commandIds}`,
  deadline: Date.now() + 10_000,
});
const arrive = (id: string) => toQueue({ type: "arrive", item: { kind: "ticket", id } });

function queueHost(store: EventStore): ActorHost {
  return new ActorHost({
    store,
    committer: new GroupCommitter(store),
    deciders: [queueDecider],
    tenantSettings: () => Promise.resolve(settings),
  });
}

async function ok(host: ActorHost, request: ActorRequest): Promise<void> {
  const response = await host.dispatch(request);
  assert(response.ok, JSON.stringify(response));
}

// Each timer row of the actor: name → the transaction that last wrote it.
async function rowVersions(sql: postgres.Sql, schema: string): Promise<Map<string, string>> {
  const rows = await sql.unsafe<{ name: string; x: string }[]>(
    `select name, xmin::text as x from ${schema}.timers where actor_key = $1`,
    [QUEUE],
  );
  return new Map(rows.map((row) => [row.name, row.x]));
}

// The names whose rows were written (or appeared) between two readings.
function written(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after].filter(([name, x]) => before.get(name) !== x).map(([name]) => name);
}

// What the state folded from the whole log wants.
async function wantedNow(store: SqlEventStore): Promise<string[]> {
  const events = await store.events(QUEUE, 0, 10_000);
  const state = events.reduce(
    (state, event) => queueDecider.evolve(state, event.data as never),
    queueDecider.initial({ kind: "queue", tenant: "t", id: "main" }),
  );
  return queueDecider.timers!(state).map((timer) => `${timer.name}@${timer.at}`).sort();
}

const stored = async (store: SqlEventStore) =>
  (await store.load(QUEUE, 0)).timers.map((timer) => `${timer.name}@${timer.at}`).sort();

Deno.test("timer rows: a turn writes only the timers it changes, none when none change", async () => {
  await withPostgresStore(async (store, schema) => {
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    // The timer changes each append carried, to tell what was sent from what stuck.
    const sent: (TimerChanges | undefined)[] = [];
    const host = queueHost(overrideStore(store, {
      appendBatch: (batch: AppendRequest[]) => {
        sent.push(...batch.map((append) => append.timers));
        return store.appendBatch(batch);
      },
    }));
    const lastSent = () => sent.at(-1);
    try {
      await Promise.all(Array.from({ length: 30 }, (_, i) => ok(host, arrive(`s${i}`))));
      let before = await rowVersions(sql, schema);
      assertEquals(before.size, 30);

      await ok(host, arrive("new"));
      let after = await rowVersions(sql, schema);
      assertEquals(after.size, 31);
      assertEquals(written(before, after).length, 1, "only the new item's timer row");
      assert(written(before, after)[0].endsWith("new"));
      assertEquals(lastSent()?.set.map((timer) => timer.name), written(before, after));
      assertEquals(lastSent()?.delete, [], "the turn sent that one timer alone");

      before = after;
      await ok(host, toQueue({ type: "availability", agent: "sue", status: "online" }));
      after = await rowVersions(sql, schema);
      assertEquals(after, before, "a turn that changes no timer writes no timer row");
      assertEquals(lastSent(), undefined, "nor sends any");

      const [gone] = [...before.keys()].filter((name) => name.endsWith("s3"));
      await ok(
        host,
        toQueue({ type: "leave", item: { kind: "ticket", id: "s3" }, reason: "closed" }),
      );
      after = await rowVersions(sql, schema);
      assertEquals(after.size, 30);
      assert(!after.has(gone), "the left item's timer is deleted");
      assertEquals(written(before, after), [], "and nothing else is written");
      assertEquals(lastSent(), { set: [], delete: [gone] });

      // A reloaded activation starts from the stored timers: its next turn
      // again writes one row, and deletes what its state stopped wanting.
      host.passivate(() => true);
      before = after;
      await ok(host, arrive("after-reload"));
      await ok(
        host,
        toQueue({ type: "leave", item: { kind: "ticket", id: "s4" }, reason: "closed" }),
      );
      after = await rowVersions(sql, schema);
      assertEquals(after.size, 30);
      assertEquals(written(before, after).length, 1);
      assertEquals(await stored(store), await wantedNow(store));
    } finally {
      await host.drain();
      host.close();
      await sql.end();
    }
  });
});

Deno.test("timer rows: a stale activation is refused and reloads; the stored timers are the state's", async () => {
  await withPostgresStore(async (store) => {
    const first = queueHost(store);
    const second = queueHost(store);
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => ok(first, arrive(`s${i}`))));
      // Another owner moves the log on: it adds one timer and deletes one.
      await ok(second, arrive("theirs"));
      await ok(
        second,
        toQueue({ type: "leave", item: { kind: "ticket", id: "s1" }, reason: "closed" }),
      );
      const refused = await first.dispatch(arrive("mine"));
      assert(!refused.ok && refused.error.code === "stale_owner", JSON.stringify(refused));
      await ok(first, arrive("mine"));
      await ok(
        first,
        toQueue({ type: "leave", item: { kind: "ticket", id: "s2" }, reason: "closed" }),
      );
      const timers = await stored(store);
      assertEquals(timers.length, 10, "s0–s9, less s1 and s2, with theirs and mine");
      assertEquals(timers, await wantedNow(store));
    } finally {
      await Promise.all([first.drain(), second.drain()]);
      first.close();
      second.close();
    }
  });
});

Deno.test("timer rows: merged turns of one actor keep each timer's last change", async () => {
  await withPostgresStore(async (store) => {
    const batches: number[] = [];
    const committer = new GroupCommitter(store, { onBatch: (size) => batches.push(size) });
    const turn = (seq: number, timers: TimerChanges): AppendRequest => ({
      actorKey: "counter/t/m",
      expectedSeq: seq - 1,
      events: [{ seq, type: "noted", data: {}, commandId: `m${seq}`, at: 1 }],
      timers,
    });
    const set = (entries: Record<string, number>) =>
      Object.entries(entries).map(([name, at]) => ({ name, at }));
    // The first is taken at once; the three after it wait and merge.
    await Promise.all([
      committer.append(turn(1, { set: set({ a: 1, b: 2, c: 3 }), delete: [] })),
      committer.append(turn(2, { set: set({ a: 10 }), delete: ["b"] })),
      committer.append(turn(3, { set: set({ b: 20 }), delete: ["a"] })),
      committer.append(turn(4, { set: set({ e: 50 }), delete: [] })),
    ]);
    await committer.settled();
    assertEquals(batches, [1, 3]);
    const timers = (await store.load("counter/t/m", 0)).timers;
    assertEquals(timers.sort((x, y) => x.name < y.name ? -1 : 1), set({ b: 20, c: 3, e: 50 }));
  });
});
