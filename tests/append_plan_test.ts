// The hot statements find their rows by primary-key probes in the plan a
// connection caches, whatever the statistics: a generic plan made on empty
// tables once hashed the batch and scanned the whole event log per append.
import { assert, assertEquals } from "@std/assert";
import postgres from "postgres";
import type { AppendRequest } from "../cluster/store/event_store.ts";
import { appendStatement } from "../cluster/store/_append_batch.ts";
import { deleteOutboxSql, idempotencySql } from "../cluster/store/_sql_schema.ts";
import { openPostgresStore } from "../cluster/store/postgres_store.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./_support/services.ts";

// Every part of the statement has rows: an actor's first append, a later
// one of two events, and a refusal's record; a snapshot, timers set and
// deleted, a projection, an outbox entry and idempotency records.
const batch: AppendRequest[] = [
  {
    actorKey: "ticket/t/new",
    expectedSeq: 0,
    events: [{ seq: 1, type: "created", data: {}, commandId: "c1", at: 1 }],
    timers: { set: [{ name: "sla", at: 5 }], delete: ["old"] },
    projection: {
      key: { tenant: "t", kind: "ticket", id: "new" },
      row: { status: "open", assignee: null, createdAt: 1, updatedAt: 1, doc: {} },
    },
    outbox: [{
      actorKey: "ticket/t/new",
      seq: 1,
      idx: 0,
      address: { kind: "queue", tenant: "t", id: "main" },
      command: { type: "arrive" },
      commandId: "c1:0",
      createdAt: 1,
    }],
    idempotency: [{
      commandId: "c1",
      fingerprint: null,
      outcome: { ok: true, seq: 1 },
      createdAt: 1,
    }],
  },
  {
    actorKey: "queue/t/main",
    expectedSeq: 7,
    events: [
      { seq: 8, type: "arrived", data: {}, commandId: "c1:0", at: 1 },
      { seq: 9, type: "assigned", data: {}, commandId: "c1:0", at: 1 },
    ],
    snapshot: { seq: 8, state: {} },
  },
  {
    actorKey: "ticket/t/old",
    expectedSeq: 3,
    events: [],
    idempotency: [{
      commandId: "c2",
      fingerprint: null,
      outcome: { ok: false, error: { code: "conflict", message: "taken" } },
      createdAt: 1,
    }],
  },
];

// A chat message's shape: an event, a projection and an idempotency record.
const chatMessage: AppendRequest = { ...batch[0], timers: undefined, outbox: undefined };

const tables = new Set(["events", "snapshots", "timers", "projections", "outbox", "idempotency"]);

Deno.test("the append, the idempotency lookup and the outbox delete probe primary keys in a generic plan made on empty tables", async () => {
  const schema = uniqueName("sb_test");
  const store = await openPostgresStore({ url: DATABASE_URL, schema, max: 1 });
  await store.close();
  const sql = postgres(DATABASE_URL, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema, plan_cache_mode: "force_generic_plan" },
  });
  try {
    for (const shape of [batch, [chatMessage]]) {
      const { sql: text, params } = appendStatement(shape);
      const appendScans = await scansOf(sql, text, params);
      assertEquals(appendScans.filter((scan) => tables.has(scan.relation)), []);
      assert(
        appendScans.some((scan) => scan.type === "Index Scan" || scan.type === "Index Only Scan"),
      );
    }
    const lookupScans = await scansOf(sql, idempotencySql, ["ticket/t/old", '["c2","c3"]']);
    assertEquals(lookupScans.filter((scan) => tables.has(scan.relation)), []);
    const forgetScans = await scansOf(sql, deleteOutboxSql, ['["ticket/t/new"]', "{1}", "{0}"]);
    assertEquals(forgetScans.filter((scan) => tables.has(scan.relation)), []);
  } finally {
    await sql.end();
    await dropSchema(schema);
  }
});

interface Scan {
  type: string;
  relation: string;
}

// The relations `text` reads by sequential scan in its generic plan, and
// every scan node besides, through PREPARE and EXPLAIN EXECUTE.
async function scansOf(sql: postgres.Sql, text: string, params: string[]): Promise<Scan[]> {
  const name = `plan_${crypto.randomUUID().replaceAll("-", "")}`;
  await sql.unsafe(`prepare ${name} as ${text}`);
  const literals = params.map((param) => `'${param.replaceAll("'", "''")}'`).join(", ");
  const [row] = await sql.unsafe(`explain (format json) execute ${name}(${literals})`);
  await sql.unsafe(`deallocate ${name}`);
  const scans: Scan[] = [];
  const walk = (node: Record<string, unknown>) => {
    const type = node["Node Type"] as string;
    if (type.endsWith("Scan")) {
      scans.push({
        type,
        relation: type === "Seq Scan" ? node["Relation Name"] as string : "",
      });
    }
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk((row["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0].Plan);
  return scans;
}

Deno.test("an append statement holds only the parts its batch has rows for, with a parameter for each of their columns", () => {
  const tablesIn = (text: string) =>
    [...tables].filter((table) => new RegExp(`(into|from) ${table}\\b`).test(text));
  const highestParameter = (text: string) =>
    Math.max(...[...text.matchAll(/\$(\d+)/g)].map(([, n]) => Number(n)));
  const full = appendStatement(batch);
  assertEquals(tablesIn(full.sql).sort(), [...tables].sort());
  assertEquals(highestParameter(full.sql), full.params.length);
  const chat = appendStatement([chatMessage]);
  assertEquals(tablesIn(chat.sql).sort(), ["events", "idempotency", "projections"]);
  assertEquals(highestParameter(chat.sql), chat.params.length);
  assert(!chat.sql.includes("rest as"), "a batch of single-event appends has no `rest` insert");
  assert(full.sql.includes("rest as"));
});
