// The group committer on real Postgres: one bad append never fails another,
// two activations of one actor in a batch are fenced apart, and a stuck
// Postgres bounds the queue instead of holding every write.
import { assert, assertEquals, assertInstanceOf, assertLess, assertRejects } from "@std/assert";
import postgres from "postgres";
import {
  AppendConflictError,
  AppendRejectedError,
  type AppendRequest,
  CommitOverloadedError,
  StoreUnavailableError,
} from "../cluster/store/event_store.ts";
import { appendFailure, GroupCommitter } from "../cluster/store/group_committer.ts";
import type { SqlEventStore } from "../cluster/store/sql_event_store.ts";
import type { TenantSettings } from "../actors/decider.ts";
import type { ActorRequest, ActorResponse } from "../cluster/protocol.ts";
import { ActorHost } from "../cluster/runtime/host.ts";
import { counterDecider } from "./_support/counter_decider.ts";
import { withPostgresStore } from "./_support/postgres_store.ts";
import { PrivatePostgres } from "./_support/private_postgres.ts";
import { DATABASE_URL, overrideStore } from "./_support/services.ts";

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function append(actorKey: string, expectedSeq: number, texts: string[]): AppendRequest {
  return {
    actorKey,
    expectedSeq,
    events: texts.map((text, i) => ({
      seq: expectedSeq + i + 1,
      type: "noted",
      data: { text },
      commandId: `${actorKey}:${expectedSeq + i + 1}`,
      at: 1000,
    })),
    projection: {
      key: { kind: "ticket", tenant: "acme", id: actorKey },
      row: { status: "new", assignee: null, createdAt: 1, updatedAt: 1, doc: { text: texts[0] } },
    },
  };
}

const seqs = async (store: SqlEventStore, key: string) =>
  (await store.events(key, 0, 100)).map((event) => event.seq);

Deno.test("committer: poisoned appends fail alone, non-retryably; every good one commits", async () => {
  await withPostgresStore(async (store) => {
    const committer = new GroupCommitter(store);
    const poisons = ["nul \u0000 here", "lone \ud800 surrogate", "\udc00"];
    const good: Promise<void>[] = [];
    const bad: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      good.push(committer.append(append(`ticket/acme/good-${i}`, 0, ["fine"])));
      bad.push(committer.append(append(`ticket/other/bad-${i}`, 0, [poisons[i % 3]])));
    }
    const [goodResults, badResults] = await Promise.all([
      Promise.allSettled(good),
      Promise.allSettled(bad),
    ]);
    assertEquals(goodResults.filter((r) => r.status === "fulfilled").length, 60);
    for (const result of badResults) {
      assert(result.status === "rejected");
      assertInstanceOf(result.reason, AppendRejectedError);
      const answer = appendFailure(result.reason, "ticket/other/bad-0");
      assertEquals([answer.code, answer.retryable], ["invalid", false]);
    }
    assertEquals(await seqs(store, "ticket/acme/good-59"), [1]);
    assertEquals(await seqs(store, "ticket/other/bad-0"), []);
  });
});

Deno.test("committer: of one actor's merged turns, those before a poisoned one commit, later ones are stale", async () => {
  await withPostgresStore(async (store) => {
    const committer = new GroupCommitter(store);
    const blocker = committer.append(append("ticket/acme/blocker", 0, ["b"]));
    const before = committer.append(append("ticket/acme/m", 0, ["fine"]));
    const poisoned = assertRejects(
      () => committer.append(append("ticket/acme/m", 1, ["bad \u0000"])),
      AppendRejectedError,
    );
    const after = assertRejects(
      () => committer.append(append("ticket/acme/m", 2, ["fine again"])),
      AppendConflictError,
    );
    const other = committer.append(append("ticket/acme/n", 0, ["n"]));
    await Promise.all([blocker, before, poisoned, after, other]);
    assertEquals(await seqs(store, "ticket/acme/m"), [1]);
    assertEquals(await seqs(store, "ticket/acme/n"), [1]);
  });
});

Deno.test("committer: a second activation's append in the same batch is fenced, not merged", async () => {
  await withPostgresStore(async (store) => {
    const committer = new GroupCommitter(store);
    await committer.append(append("ticket/acme/x", 0, ["one", "two"]));
    // The first append keeps the lane busy, so the rest meet in one batch.
    const blocker = committer.append(append("ticket/acme/blocker", 0, ["b"]));
    const oldTurn = committer.append(append("ticket/acme/x", 2, ["old 3", "old 4"]));
    const newTurn = committer.append(append("ticket/acme/x", 2, ["new 3"]));
    const oldNext = committer.append(append("ticket/acme/x", 4, ["old 5"]));
    const other = committer.append(append("ticket/acme/y", 0, ["y"]));
    const fenced = assertRejects(() => newTurn, AppendConflictError);
    await Promise.all([blocker, oldTurn, oldNext, other, fenced]);
    assertEquals(await seqs(store, "ticket/acme/x"), [1, 2, 3, 4, 5]);
    const texts = (await store.events("ticket/acme/x", 2, 10)).map((e) => e.data.text);
    assertEquals(texts, ["old 3", "old 4", "old 5"]);
    assertEquals(await seqs(store, "ticket/acme/y"), [1]);
  });
});

Deno.test("committer: with spacing, a steady stream commits in fewer batches, none sooner than the spacing after the last; a lone append goes at once", async () => {
  await withPostgresStore(async (store) => {
    const starts: number[] = [];
    const timed = overrideStore(store, {
      appendBatch: (batch) => {
        starts.push(performance.now());
        return store.appendBatch(batch);
      },
    });
    const sizes: number[] = [];
    const committer = new GroupCommitter(timed, {
      spacingMs: 40,
      onBatch: (size) => sizes.push(size),
    });
    const lone = performance.now();
    await committer.append(append("ticket/acme/lone", 0, ["one"]));
    assertLess(starts[0] - lone, 20, "a lone append waits for nothing");
    await delay(60);
    // 40 appends, one every 5 ms: without spacing, about one batch each.
    const streamed: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) {
      streamed.push(committer.append(append(`ticket/acme/s-${i}`, 0, ["one"])));
      await delay(5);
    }
    await Promise.all(streamed);
    await committer.settled();
    const gaps = starts.slice(2).map((start, i) => start - starts[i + 1]);
    assert(gaps.every((gap) => gap >= 39), `batches ${Math.min(...gaps)} ms apart`);
    assertLess(sizes.length, 12);
    assertEquals(sizes.reduce((sum, size) => sum + size, 0), 41);
    assertEquals(await seqs(store, "ticket/acme/s-39"), [1]);
  });
});

Deno.test("committer: statement_timeout cancels a statement stuck on a lock, retryably", async () => {
  await withPostgresStore(async (store, schema) => {
    const committer = new GroupCommitter(store);
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => release = resolve);
      let locked!: () => void;
      const lockTaken = new Promise<void>((resolve) => locked = resolve);
      const holder = sql.begin(async (tx) => {
        await tx.unsafe(`lock table ${schema}.events in exclusive mode`);
        locked();
        await held;
      });
      await lockTaken;
      const error = await assertRejects(
        () => committer.append(append("ticket/acme/locked", 0, ["one"])),
        StoreUnavailableError,
      );
      assertEquals(appendFailure(error, "k").retryable, true);
      release();
      await holder;
      await committer.append(append("ticket/acme/locked", 0, ["one"]));
    } finally {
      await sql.end();
    }
  }, { statementTimeoutMs: 300 });
});

Deno.test("committer: with Postgres frozen, appends past the queue bound are overloaded; the rest commit after", async () => {
  const server = await PrivatePostgres.start();
  try {
    await withPostgresStore(async (store) => {
      const committer = new GroupCommitter(store, { maxQueued: 5 });
      await committer.append(append("ticket/acme/warm", 0, ["w"]));
      await server.pause();
      const accepted = [committer.append(append("ticket/acme/a-0", 0, ["in flight"]))];
      for (let i = 1; i <= 5; i++) {
        accepted.push(committer.append(append(`ticket/acme/a-${i}`, 0, ["queued"])));
      }
      const refused = await Promise.allSettled(
        [1, 2, 3].map((i) => committer.append(append(`ticket/acme/over-${i}`, 0, ["over"]))),
      );
      for (const result of refused) {
        assert(result.status === "rejected");
        assertInstanceOf(result.reason, CommitOverloadedError);
        const answer = appendFailure(result.reason, "k");
        assertEquals([answer.code, answer.retryable], ["overloaded", true]);
      }
      await server.resume();
      await Promise.all(accepted);
      for (let i = 0; i <= 5; i++) assertEquals(await seqs(store, `ticket/acme/a-${i}`), [1]);
      assertEquals(await seqs(store, "ticket/acme/over-1"), []);
    }, { url: server.url });
  } finally {
    await server.stop();
  }
});

// A host over the real store whose counter actors take commands by id and number.
async function withCounterHost(
  run: (
    send: (id: string, command: ActorRequest["command"], n: number) => Promise<ActorResponse>,
  ) => Promise<void>,
): Promise<void> {
  await withPostgresStore(async (store) => {
    const host = new ActorHost({
      store,
      committer: new GroupCommitter(store),
      deciders: [counterDecider],
      tenantSettings: () => Promise.resolve({} as TenantSettings),
    });
    try {
      await run((id, command, n) =>
        host.dispatch({
          address: { kind: "counter", tenant: "t", id },
          op: "command",
          command,
          commandId: `${id}:${n}`,
          deadline: Date.now() + 5000,
        })
      );
    } finally {
      host.close();
    }
  });
}

Deno.test("host: a turn whose events the store refuses is answered invalid; its batch and its actor go on", async () => {
  await withCounterHost(async (send) => {
    const [poisoned, ...others] = await Promise.all([
      send("p", { type: "poke", target: "x\u0000" }, 1),
      ...Array.from({ length: 20 }, (_, i) => send(`ok-${i}`, { type: "add" }, 1)),
    ]);
    assertEquals(poisoned, {
      ok: false,
      error: {
        code: "invalid",
        message: "the event store refused this command's data",
        retryable: false,
      },
    });
    assert(others.every((response) => response.ok), JSON.stringify(others));
    const again = await send("p", { type: "add" }, 2);
    assertEquals(again.ok && again.seq, 1, "the actor reloads from the log and serves");
  });
});

Deno.test("host: the good turns of an actor around its refused one are told to retry, not invalid", async () => {
  await withCounterHost(async (send) => {
    assert((await send("mixed", { type: "add" }, 0)).ok);
    // Pipelined behind one another on one activation: the refused turn and
    // the turns decided after it, on a state that holds its events.
    const answers = await Promise.all([
      send("mixed", { type: "poke", target: "x\u0000" }, 1),
      send("mixed", { type: "add" }, 2),
      send("mixed", { type: "add" }, 3),
    ]);
    assertEquals(answers[0].ok ? "ok" : answers[0].error.code, "invalid");
    for (const answer of answers.slice(1)) {
      if (answer.ok) continue;
      assertEquals(answer.error.code, "stale_owner", JSON.stringify(answer));
      assert(answer.error.retryable, "a good command is never answered for good");
    }
  });
});
