import { assertEquals, assertMatch, assertThrows } from "@std/assert";
import { ConfigError, loadConfig } from "../cluster/process/config.ts";
import { openPgliteStore } from "../cluster/store/pglite_store.ts";
import { openPostgresStore } from "../cluster/store/postgres_store.ts";
import type { EventStore } from "../cluster/store/event_store.ts";
import { DATABASE_URL } from "./_support/services.ts";
import postgres from "postgres";

const cluster = { NATS_URL: "nats://127.0.0.1:4222", SB_JWT_SECRET: "s".repeat(32) };

Deno.test("config: a node or an edge refuses a JWT secret shorter than 32 bytes", () => {
  for (const role of ["node", "edge"]) {
    const error = assertThrows(
      () => loadConfig({ ...cluster, SB_ROLE: role, SB_JWT_SECRET: "s".repeat(31) }),
      ConfigError,
    );
    assertMatch(error.message, /SB_JWT_SECRET must be at least 32 bytes/);
    assertThrows(() => loadConfig({ ...cluster, SB_ROLE: role, SB_JWT_SECRET: "" }), ConfigError);
    assertEquals(loadConfig({ ...cluster, SB_ROLE: role }).jwtSecret, cluster.SB_JWT_SECRET);
  }
  // Counted in bytes: 11 three-byte characters are 33 bytes.
  assertEquals(
    loadConfig({ ...cluster, SB_ROLE: "node", SB_JWT_SECRET: "€".repeat(11) }).role,
    "node",
  );
  assertEquals(loadConfig({}).jwtSecret, undefined, "standalone generates its own");
});

Deno.test("config: NODE_ID and SB_CLUSTER are single NATS subject tokens", () => {
  for (const variable of ["NODE_ID", "SB_CLUSTER"]) {
    for (const bad of ["a.b", "a*", ">", "a b", "ä", "x".repeat(65)]) {
      const error = assertThrows(() => loadConfig({ [variable]: bad }), ConfigError);
      assertMatch(error.message, new RegExp(`^${variable} must be .*letters, digits, _ or -`));
    }
    assertEquals(
      loadConfig({ [variable]: "Node-1_b" })[variable === "NODE_ID" ? "nodeId" : "cluster"],
      "Node-1_b",
    );
  }
});

Deno.test("config: nodes default to any free HTTP port, so several share a host; edges to 8080", () => {
  assertEquals(loadConfig({ ...cluster, SB_ROLE: "node" }).httpPort, 0);
  assertEquals(loadConfig({ ...cluster, SB_ROLE: "edge" }).httpPort, 8080);
  assertEquals(loadConfig({}).httpPort, 8080);
  assertEquals(loadConfig({ ...cluster, SB_ROLE: "node", SB_HTTP_PORT: "9000" }).httpPort, 9000);
});

Deno.test("config: SB_DB_SCHEMA refuses names Postgres would not take", () => {
  for (const bad of ["Big", "a-b", "a.b", "1st", "pg_mine", 'x"y']) {
    assertThrows(() => loadConfig({ SB_DB_SCHEMA: bad }), ConfigError);
  }
  assertEquals(loadConfig({ SB_DB_SCHEMA: "user" }).dbSchema, "user");
});

async function roundTrip(store: EventStore): Promise<number[]> {
  await store.appendBatch([{
    actorKey: "ticket/t/a",
    expectedSeq: 0,
    events: [{ seq: 1, type: "noted", data: { type: "noted" }, commandId: "c1", at: 1 }],
  }]);
  return (await store.load("ticket/t/a", 10)).events.map((e) => e.seq);
}

// `user` is a reserved word: unquoted, `create schema user` is a syntax error.
Deno.test("postgres: a schema named user works", async () => {
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`drop schema if exists "user" cascade`);
    const store = await openPostgresStore({ url: DATABASE_URL, schema: "user", max: 2 });
    try {
      assertEquals(await roundTrip(store), [1]);
    } finally {
      await store.close();
    }
    const [{ events }] = await sql.unsafe(`select count(*)::int as events from "user".events`);
    assertEquals(events, 1);
  } finally {
    await sql.unsafe(`drop schema if exists "user" cascade`);
    await sql.end();
  }
});

Deno.test("pglite: a schema named user works", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sb-pglite-" });
  try {
    const store = await openPgliteStore(dir, "user");
    try {
      assertEquals(await roundTrip(store), [1]);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config: SB_COMMIT_SPACING_MS is 5 ms unless set, 0 turns it off, anything else is refused", () => {
  assertEquals(loadConfig({}).commitSpacingMs, 5);
  assertEquals(loadConfig({ SB_COMMIT_SPACING_MS: "0" }).commitSpacingMs, 0);
  for (const bad of ["-1", "soon", "Infinity"]) {
    const error = assertThrows(() => loadConfig({ SB_COMMIT_SPACING_MS: bad }), ConfigError);
    assertMatch(error.message, /^SB_COMMIT_SPACING_MS must be a number of 0 or more/);
  }
});
