import { assertEquals } from "@std/assert";
import { IdempotencyPruner } from "../cluster/runtime/idempotency_pruner.ts";
import { TimerScheduler } from "../cluster/runtime/timer_scheduler.ts";
import { clientCommand } from "../edge/idempotency.ts";
import type { ActorResponse } from "../cluster/protocol.ts";
import { add, runtime, seqOf, withStore } from "./_support/host_runtime.ts";

function codeOf(response: ActorResponse): string | null {
  return response.ok ? null : response.error.code;
}

Deno.test("idempotency: the same id with another fingerprint is refused idempotency_mismatch, also after a restart", async () => {
  await withStore(async (store) => {
    const first = runtime(store);
    const request = add("fp", { fingerprint: "sha-a" });
    const original = await first.host.dispatch(request);
    assertEquals(seqOf(original), 1);
    const other = await first.host.dispatch({ ...request, fingerprint: "sha-b" });
    assertEquals(!other.ok && [other.error.code, other.error.retryable], [
      "idempotency_mismatch",
      false,
    ]);
    assertEquals(await first.host.dispatch(request), original);
    first.host.close();
    const second = runtime(store);
    try {
      assertEquals(
        codeOf(await second.host.dispatch({ ...request, fingerprint: "sha-b" })),
        "idempotency_mismatch",
      );
      assertEquals(await second.host.dispatch(request), original);
      assertEquals((await store.events("counter/t/fp", 0, 10)).length, 1);
    } finally {
      second.host.close();
    }
  });
});

Deno.test("idempotency: a refusal is final, in memory and after a restart; a validation failure is not remembered", async () => {
  await withStore(async (store) => {
    const first = runtime(store);
    assertEquals(seqOf(await first.host.dispatch(add("final"))), 1);
    const need = add("final", { command: { type: "need", min: 2 } });
    assertEquals(codeOf(await first.host.dispatch(need)), "too_few");
    assertEquals(seqOf(await first.host.dispatch(add("final"))), 2);
    // Now the command would succeed, but its first outcome stands.
    const again = await first.host.dispatch(need);
    assertEquals(!again.ok && [again.error.code, again.error.retryable], ["too_few", false]);
    first.host.close();
    const second = runtime(store);
    try {
      assertEquals(codeOf(await second.host.dispatch(need)), "too_few");
      const invalid = add("final", { command: { type: "need", min: 0.5 } });
      assertEquals(codeOf(await second.host.dispatch(invalid)), "validation");
      const fixed = await second.host.dispatch({ ...invalid, command: { type: "need", min: 1 } });
      assertEquals(seqOf(fixed), 3, "the id of a refused-as-invalid request is still free");
    } finally {
      second.host.close();
    }
  });
});

Deno.test("idempotency: a command no client can send again leaves no record when it wrote nothing, and keeps it when it wrote events", async () => {
  await withStore(async (store) => {
    const first = runtime(store);
    assertEquals(seqOf(await first.host.dispatch(add("unkeyed"))), 1);
    const need = add("unkeyed", { command: { type: "need", min: 2 }, unkeyed: true });
    assertEquals(codeOf(await first.host.dispatch(need)), "too_few");
    const never = add("unkeyed", { command: { type: "need", min: 9 }, unkeyed: true });
    assertEquals(codeOf(await first.host.dispatch(never)), "too_few");
    const written = add("unkeyed", { unkeyed: true });
    assertEquals(seqOf(await first.host.dispatch(written)), 2);
    // Unlike a keyed refusal, the edge's retry of this one runs again.
    assertEquals(seqOf(await first.host.dispatch(need)), 3);
    first.host.close();
    const second = runtime(store);
    try {
      assertEquals(seqOf(await second.host.dispatch(written)), 2, "its events' record stands");
      assertEquals(seqOf(await second.host.dispatch(need)), 3);
      assertEquals((await store.events("counter/t/unkeyed", 0, 10)).length, 3);
      const recorded = (await store.load("counter/t/unkeyed", 100)).idempotency
        .map((record) => record.commandId);
      assertEquals(recorded.includes(never.commandId), false);
    } finally {
      second.host.close();
    }
  });
});

Deno.test("idempotency: records are lean, a retry answers the current view with the receipt, and older ids than memory holds are found in the store", async () => {
  await withStore(async (store) => {
    const first = runtime(store, { recentCommands: 2 });
    const requests = Array.from({ length: 5 }, () => add("lean"));
    for (const request of requests) await first.host.dispatch(request);
    // Evicted from memory: found in the store, not executed again.
    const retried = await first.host.dispatch(requests[0]);
    assertEquals(seqOf(retried), 1);
    assertEquals(retried.ok && (retried.reply as { n: number; fired: string[] }), {
      n: 1,
      fired: [],
      alarm: null,
    } as unknown as { n: number; fired: string[] });
    first.host.close();
    const second = runtime(store, { recentCommands: 2 });
    try {
      const answers = await Promise.all(requests.map((r) => second.host.dispatch(r)));
      assertEquals(answers.map(seqOf), [1, 2, 3, 4, 5]);
      assertEquals(answers.map((a) => a.ok && (a.reply as { n: number }).n), [1, 2, 3, 4, 5]);
      assertEquals((await store.events("counter/t/lean", 0, 10)).length, 5);
      const [record] = await store.idempotency("counter/t/lean", [requests[0].commandId]);
      assertEquals(record.outcome, { ok: true, seq: 1, receipt: { n: 1 } });
    } finally {
      second.host.close();
    }
  });
});

Deno.test("receiptOnly: the caller that reads only the receipt gets it alone, from the turn and from a retry; the view otherwise", async () => {
  await withStore(async (store) => {
    const { host } = runtime(store);
    try {
      const lean = add("receipt", { receiptOnly: true });
      const first = await host.dispatch(lean);
      assertEquals(first.ok && [first.seq, first.reply], [1, { n: 1 }]);
      assertEquals(await host.dispatch(lean), first, "the retry answers as the turn did");
      const full = await host.dispatch(add("receipt"));
      assertEquals(full.ok && full.reply, { n: 2, fired: [], alarm: null });
      // A refusal is a refusal either way.
      const need = add("receipt", { command: { type: "need", min: 9 }, receiptOnly: true });
      assertEquals(codeOf(await host.dispatch(need)), "too_few");
    } finally {
      host.close();
    }
  });
});

Deno.test("idempotency: the pruner forgets records past the window, in bounded deletes", async () => {
  await withStore(async (store) => {
    let now = Date.now();
    const { host } = runtime(store, { now: () => now });
    try {
      const requests = Array.from({ length: 5 }, () => add("old"));
      for (const request of requests) await host.dispatch(request);
      host.close();
      now += 3_600_000;
      const pruner = new IdempotencyPruner({
        store,
        windowMs: 1_800_000,
        batch: 2,
        maxBatches: 2,
        now: () => now,
      });
      assertEquals(await pruner.prune(), 4, "two deletes of two");
      assertEquals(await pruner.prune(), 1);
      assertEquals(await store.idempotency("counter/t/old", requests.map((r) => r.commandId)), []);
      const fresh = new IdempotencyPruner({ store, windowMs: 7_200_000, now: () => now });
      const kept = add("old", { deadline: now + 5000 });
      const later = runtime(store, { now: () => now });
      assertEquals(seqOf(await later.host.dispatch(kept)), 6);
      later.host.close();
      assertEquals(await fresh.prune(), 0);
      assertEquals((await store.idempotency("counter/t/old", [kept.commandId])).length, 1);
    } finally {
      host.close();
    }
  });
});

Deno.test("command id namespaces: a client key crafted as a timer's id cannot pre-empt the timer", async () => {
  await withStore(async (store) => {
    const { host } = runtime(store);
    const scheduler = new TimerScheduler({ store, deliver: (r) => host.dispatch(r), pollMs: 50 });
    try {
      const at = Date.now() + 300;
      await host.dispatch({ ...add("sla"), command: { type: "alarm", at } });
      // The key a visitor named `timer` would send to collide with the timer's
      // id under `sub:key`, and the system id itself as a key.
      const crafted = [
        clientCommand({ sub: "timer", role: "visitor" }, `alarm:${at}`, ["add"]),
        clientCommand({ sub: "v", role: "visitor" }, `s:timer:alarm:${at}`, ["add"]),
        clientCommand({ sub: "s", role: "visitor" }, `timer:alarm:${at}`, ["add"]),
      ];
      for (const { commandId, fingerprint } of crafted) {
        assertEquals(commandId.startsWith("c:"), true);
        assertEquals(seqOf(await host.dispatch(add("sla", { commandId, fingerprint }))) > 1, true);
      }
      scheduler.start();
      let fired: string[] = [];
      for (let i = 0; i < 100 && fired.length === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const read = await host.dispatch({ ...add("sla"), op: "read" });
        fired = read.ok ? (read.reply as { fired: string[] }).fired : [];
      }
      assertEquals(fired, [`alarm@${at}`]);
    } finally {
      scheduler.stop();
      host.close();
    }
  });
});
