import { assertEquals, assertRejects } from "@std/assert";
import {
  type AppendRequest,
  type EventStore,
  type OutboxEntry,
  PluginVersionTakenError,
  StoreDataError,
  type TimerChanges,
} from "../cluster/store/event_store.ts";
import type { PluginState } from "../cluster/protocol.ts";
import { openPostgresStore } from "../cluster/store/postgres_store.ts";
import { openPgliteStore } from "../cluster/store/pglite_store.ts";
import { InvalidCursorError } from "../cluster/store/list_cursor.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./_support/services.ts";

const drivers: [string, () => Promise<{ store: EventStore; cleanup: () => Promise<void> }>][] = [
  ["postgres", async () => {
    const schema = uniqueName("sb_test");
    const store = await openPostgresStore({ url: DATABASE_URL, schema, max: 4 });
    return { store, cleanup: () => dropSchema(schema) };
  }],
  ["pglite", async () => {
    const dir = await Deno.makeTempDir({ prefix: "sb-pglite-" });
    const store = await openPgliteStore(dir, "switchboard");
    return { store, cleanup: () => Deno.remove(dir, { recursive: true }) };
  }],
];

function append(
  actorKey: string,
  expectedSeq: number,
  count: number,
  extra: Partial<AppendRequest> = {},
): AppendRequest {
  return {
    actorKey,
    expectedSeq,
    events: Array.from({ length: count }, (_, i) => ({
      seq: expectedSeq + i + 1,
      type: "noted",
      data: { type: "noted", n: expectedSeq + i + 1 },
      commandId: `c${expectedSeq + i + 1}`,
      at: 1000 + i,
    })),
    idempotency: [{
      commandId: `c${expectedSeq + count}`,
      fingerprint: `f${expectedSeq + count}`,
      outcome: { ok: true, seq: expectedSeq + count },
      createdAt: 1000 + expectedSeq,
    }],
    ...extra,
  };
}

const setting = (timers: Record<string, number>): TimerChanges => ({
  set: Object.entries(timers).map(([name, at]) => ({ name, at })),
  delete: [],
});

for (const [driver, open] of drivers) {
  Deno.test(`${driver}: plugin versions per tenant: one active and one shadow, activate, roll back`, async () => {
    const { store, cleanup } = await open();
    const plugin = (version: string, state: PluginState, tenant = "acme") => ({
      tenant,
      name: "p",
      version,
      source: `/* ${version} */`,
      options: { weight: 2 },
      state,
      createdAt: 1000 + Number(version),
      createdBy: "root",
    });
    const states = async (tenant = "acme") =>
      (await store.plugins(tenant, "p")).map((p) => `${p.version}:${p.state}`);
    try {
      await store.addPlugin(plugin("1", "active"));
      await store.addPlugin(plugin("2", "active"));
      await store.addPlugin(plugin("3", "shadow"));
      await store.addPlugin(plugin("1", "shadow", "globex"));
      assertEquals(await states(), ["1:inactive", "2:active", "3:shadow"]);
      await assertRejects(() => store.addPlugin(plugin("2", "inactive")), PluginVersionTakenError);
      assertEquals(await states("globex"), ["1:shadow"]);
      assertEquals((await store.livePlugins()).map((p) => `${p.tenant}/${p.version}`), [
        "acme/2",
        "acme/3",
        "globex/1",
      ]);
      assertEquals((await store.plugins("acme"))[0].options, { weight: 2 });

      assertEquals(await store.activatePlugin("acme", "p", "3", 5000), true);
      assertEquals(await states(), ["1:inactive", "2:inactive", "3:active"]);
      assertEquals(await store.activatePlugin("acme", "p", "9", 5000), false);
      assertEquals(await store.activatePlugin("globex", "p", "3", 5000), false);
      // Each rollback steps one activation further back.
      assertEquals(await store.rollbackPlugin("acme", "p"), "2");
      assertEquals(await store.rollbackPlugin("acme", "p"), "1");
      assertEquals(await store.rollbackPlugin("acme", "p"), null);
      assertEquals(await states(), ["1:active", "2:inactive", "3:inactive"]);
      assertEquals(await store.rollbackPlugin("globex", "p"), null);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: append, load and page events`, async () => {
    const { store, cleanup } = await open();
    try {
      assertEquals((await store.appendBatch([append("ticket/t/a", 0, 3)])).conflicts.size, 0);
      assertEquals((await store.appendBatch([append("ticket/t/a", 3, 2)])).conflicts.size, 0);
      const loaded = await store.load("ticket/t/a", 10);
      assertEquals(loaded.snapshot, null);
      assertEquals(loaded.events.map((e) => e.seq), [1, 2, 3, 4, 5]);
      assertEquals(loaded.events[4].data, { type: "noted", n: 5 });
      assertEquals(loaded.idempotency.map((r) => [r.commandId, r.fingerprint, r.outcome]), [
        ["c5", "f5", { ok: true, seq: 5 }],
        ["c3", "f3", { ok: true, seq: 3 }],
      ]);
      assertEquals((await store.events("ticket/t/a", 2, 2)).map((e) => e.seq), [3, 4]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: a stale append is refused whole while the rest of its batch commits`, async () => {
    const { store, cleanup } = await open();
    try {
      await store.appendBatch([append("ticket/t/a", 0, 2)]);
      const projection = {
        key: { kind: "ticket", tenant: "t", id: "a" },
        row: { status: "new", assignee: null, createdAt: 1, updatedAt: 1, doc: { id: "a" } },
      };
      const { conflicts } = await store.appendBatch([
        append("ticket/t/a", 1, 2, { timers: setting({ x: 5 }), projection }),
        append("ticket/t/b", 0, 1, { timers: setting({ y: 6 }) }),
        append("ticket/t/new", 0, 1),
      ]);
      assertEquals([...conflicts], ["ticket/t/a"]);
      const a = await store.load("ticket/t/a", 10);
      assertEquals(a.events.map((e) => e.seq), [1, 2]);
      assertEquals(a.timers, []);
      assertEquals((await store.list({ kind: "ticket", tenant: "t", limit: 10 })).items, []);
      assertEquals((await store.load("ticket/t/b", 10)).timers, [{ name: "y", at: 6 }]);
      // A second writer that believes the actor is new loses too.
      assertEquals([...(await store.appendBatch([append("ticket/t/b", 0, 1)])).conflicts], [
        "ticket/t/b",
      ]);
      // A writer ahead of the log (its earlier append never landed) would
      // leave a gap: refused, with or without events.
      const ahead = [append("ticket/t/a", 3, 1), append("ticket/t/b", 5, 0)];
      assertEquals([...(await store.appendBatch(ahead)).conflicts].sort(), [
        "ticket/t/a",
        "ticket/t/b",
      ]);
      assertEquals((await store.load("ticket/t/a", 10)).events.map((e) => e.seq), [1, 2]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: text the store cannot hold fails the batch as a data error`, async () => {
    const { store, cleanup } = await open();
    try {
      for (const text of ["nul \u0000", "lone \ud800"]) {
        const poisoned = append("ticket/t/poison", 0, 1);
        poisoned.events[0].data = { text };
        await assertRejects(
          () => store.appendBatch([append("ticket/t/fine", 0, 1), poisoned]),
          StoreDataError,
        );
      }
      assertEquals(await store.events("ticket/t/fine", 0, 10), [], "nothing of the batch");
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: concurrent writers from one expected sequence: exactly one wins`, async () => {
    const { store, cleanup } = await open();
    try {
      await store.appendBatch([append("ticket/t/race", 0, 1)]);
      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.appendBatch([append("ticket/t/race", 1, 1)])),
      );
      assertEquals(results.filter((r) => r.conflicts.size === 0).length, 1);
      assertEquals((await store.events("ticket/t/race", 0, 100)).map((e) => e.seq), [1, 2]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: delivered outbox entries are deleted in one statement, the rest stay`, async () => {
    const { store, cleanup } = await open();
    try {
      const entry = (actorKey: string, idx: number): OutboxEntry => ({
        actorKey,
        seq: 1,
        idx,
        address: { kind: "counter", tenant: "t", id: "target" },
        command: { type: "add" },
        commandId: `outbox:${actorKey}:${idx}`,
        createdAt: 1000 + idx,
      });
      await store.appendBatch([
        append("counter/t/a", 0, 1, { outbox: [entry("counter/t/a", 0), entry("counter/t/a", 1)] }),
        append("counter/t/b", 0, 1, { outbox: [entry("counter/t/b", 0)] }),
      ]);
      await store.deleteOutbox([]);
      await store.deleteOutbox([
        { actorKey: "counter/t/a", seq: 1, idx: 1 },
        { actorKey: "counter/t/b", seq: 1, idx: 0 },
        { actorKey: "counter/t/unknown", seq: 7, idx: 0 },
      ]);
      const left = await store.pendingOutbox(Date.now(), 10);
      assertEquals(left.map((e) => [e.actorKey, e.idx]), [["counter/t/a", 0]]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: timers change by name, the rest stay; snapshots replace older ones`, async () => {
    const { store, cleanup } = await open();
    const due = async () => (await store.dueTimers(100, 10)).map((t) => [t.name, t.at]);
    try {
      await store.appendBatch([append("ticket/t/a", 0, 1, { timers: setting({ a: 10, b: 20 }) })]);
      await store.appendBatch([
        append("ticket/t/a", 1, 1, {
          timers: { set: [{ name: "b", at: 25 }, { name: "c", at: 30 }], delete: ["a"] },
          snapshot: { seq: 2, state: { n: 2 } },
        }),
      ]);
      assertEquals(await due(), [["b", 25], ["c", 30]]);
      assertEquals((await store.dueTimers(26, 10)).length, 1);
      await store.deleteTimer({ actorKey: "ticket/t/a", name: "c", at: 29 });
      assertEquals((await store.dueTimers(100, 10)).length, 2, "a different due time is kept");
      await store.deleteTimer({ actorKey: "ticket/t/a", name: "c", at: 30 });
      assertEquals((await store.dueTimers(100, 10)).length, 1);
      await store.appendBatch([append("ticket/t/a", 2, 1)]);
      assertEquals(await due(), [["b", 25]], "an append without changes leaves the timers");
      await store.appendBatch([
        append("ticket/t/a", 3, 1, { timers: setting({ d: 40 }) }),
        append("ticket/t/other", 0, 1, { timers: setting({ b: 26 }) }),
      ]);
      await store.appendBatch([
        append("ticket/t/a", 4, 1, { timers: { set: [], delete: ["b", "gone"] } }),
      ]);
      assertEquals(await due(), [["b", 26], ["d", 40]], "deletes only the actor's named timer");
      const loaded = await store.load("ticket/t/a", 10);
      assertEquals(loaded.snapshot, { seq: 2, state: { n: 2 } });
      assertEquals(loaded.events.map((e) => e.seq), [3, 4, 5]);
      assertEquals(loaded.timers, [{ name: "d", at: 40 }]);
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: projections page newest first with filters and a cursor; unassigned tickets oldest first`, async () => {
    const { store, cleanup } = await open();
    try {
      await store.appendBatch(Array.from({ length: 7 }, (_, i) =>
        append(`ticket/t/id${i}`, 0, 1, {
          projection: {
            key: { kind: "ticket", tenant: "t", id: `id${i}` },
            row: {
              status: i % 2 ? "new" : "assigned",
              assignee: i % 2 ? null : "alice",
              createdAt: 100 + i,
              updatedAt: 100 + i,
              doc: { id: `id${i}` },
            },
          },
        })));
      const first = await store.list({ kind: "ticket", tenant: "t", limit: 3 });
      assertEquals(first.items.map((d) => d.id), ["id6", "id5", "id4"]);
      const second = await store.list({
        kind: "ticket",
        tenant: "t",
        limit: 3,
        cursor: first.nextCursor!,
      });
      assertEquals(second.items.map((d) => d.id), ["id3", "id2", "id1"]);
      const last = await store.list({
        kind: "ticket",
        tenant: "t",
        limit: 3,
        cursor: second.nextCursor!,
      });
      assertEquals([last.items.map((d) => d.id), last.nextCursor], [["id0"], null]);
      const assigned = await store.list({
        kind: "ticket",
        tenant: "t",
        limit: 10,
        assignee: "alice",
      });
      assertEquals(assigned.items.map((d) => d.id), ["id6", "id4", "id2", "id0"]);
      const fresh = await store.list({ kind: "ticket", tenant: "t", limit: 10, status: "new" });
      assertEquals(fresh.items.length, 3);
      assertEquals((await store.list({ kind: "ticket", tenant: "other", limit: 10 })).items, []);
      // The backlog: open tickets nobody holds, oldest first, paged by (createdAt, id).
      const backlog = await store.unassignedTickets("t", 2);
      assertEquals(backlog.map((row) => [row.id, row.createdAt, row.doc.id]), [
        ["id1", 101, "id1"],
        ["id3", 103, "id3"],
      ]);
      const rest = await store.unassignedTickets("t", 2, backlog[1]);
      assertEquals(rest.map((row) => row.id), ["id5"]);
      assertEquals(await store.unassignedTickets("other", 10), []);
      await assertRejects(
        () => store.list({ kind: "ticket", tenant: "t", limit: 3, cursor: "bogus" }),
        InvalidCursorError,
      );
    } finally {
      await store.close();
      await cleanup();
    }
  });

  Deno.test(`${driver}: idempotency records: refusals append no events but are fenced, looked up by id, pruned in bounded deletes`, async () => {
    const { store, cleanup } = await open();
    try {
      await store.appendBatch([append("ticket/t/a", 0, 2)]);
      const refusal = (commandId: string, createdAt: number, expectedSeq = 2) => ({
        actorKey: "ticket/t/a",
        expectedSeq,
        events: [],
        idempotency: [{
          commandId,
          fingerprint: null,
          outcome: { ok: false as const, error: { code: "ticket_closed", message: "closed" } },
          createdAt,
        }],
      });
      assertEquals((await store.appendBatch([refusal("r1", 500)])).conflicts.size, 0);
      assertEquals([...(await store.appendBatch([refusal("stale", 600, 1)])).conflicts], [
        "ticket/t/a",
      ]);
      assertEquals((await store.load("ticket/t/a", 10)).events.length, 2);
      const found = await store.idempotency("ticket/t/a", ["c2", "r1", "stale", "nope"]);
      assertEquals(found.map((r) => r.commandId).sort(), ["c2", "r1"]);
      // c2 was created at 1000, r1 at 500: the oldest goes first.
      assertEquals(await store.pruneIdempotency(1001, 1), 1);
      assertEquals(await store.pruneIdempotency(600, 10), 0);
      assertEquals((await store.idempotency("ticket/t/a", ["c2", "r1"])).map((r) => r.commandId), [
        "c2",
      ]);
      assertEquals(await store.pruneIdempotency(1001, 10), 1);
    } finally {
      await store.close();
      await cleanup();
    }
  });
}

Deno.test("postgres: migrations are idempotent and safe to run concurrently", async () => {
  const schema = uniqueName("sb_test");
  try {
    const stores = await Promise.all(
      Array.from({ length: 3 }, () => openPostgresStore({ url: DATABASE_URL, schema, max: 1 })),
    );
    await Promise.all(stores.map((s) => s.close()));
    const again = await openPostgresStore({ url: DATABASE_URL, schema, max: 1 });
    assertEquals((await again.appendBatch([append("ticket/t/a", 0, 1)])).conflicts.size, 0);
    await again.close();
  } finally {
    await dropSchema(schema);
  }
});
