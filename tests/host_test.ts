import { assert, assertEquals, assertGreater, assertLess } from "@std/assert";
import type { OutboxEntry } from "../cluster/store/event_store.ts";
import { OutboxRelay } from "../cluster/runtime/outbox_relay.ts";
import { TimerScheduler } from "../cluster/runtime/timer_scheduler.ts";
import { overrideStore } from "./_support/services.ts";
import { snapshotInterval } from "../cluster/runtime/_append.ts";
import { counterDecider, type CounterEvent } from "./_support/counter_decider.ts";
import { add, holdAppends, runtime, seqOf, withStore } from "./_support/host_runtime.ts";

Deno.test("fencing: two runtimes append to one actor, exactly one wins, the log stays linear", async () => {
  await withStore(async (store) => {
    const a = runtime(store);
    const b = runtime(store);
    try {
      assertEquals(seqOf(await a.host.dispatch(add("x"))), 1);
      assertEquals(seqOf(await b.host.dispatch(add("x"))), 2);
      // Both activations now believe they own x, at different heads.
      const [fromA, fromB] = await Promise.all([
        a.host.dispatch(add("x")),
        b.host.dispatch(add("x")),
      ]);
      assertEquals(fromA.ok, false);
      assertEquals(!fromA.ok && fromA.error.code, "stale_owner");
      assertEquals(!fromA.ok && fromA.error.retryable, true);
      assertEquals(seqOf(fromB), 3);
      // The stale runtime dropped its activation: a retry rebuilds from the log.
      assertEquals(seqOf(await a.host.dispatch(add("x"))), 4);
      const events = await store.events("counter/t/x", 0, 100);
      assertEquals(events.map((e) => e.seq), [1, 2, 3, 4]);
    } finally {
      a.host.close();
      b.host.close();
    }
  });
});

Deno.test("many runtimes racing on one actor: one linear history, every loser told stale_owner", async () => {
  await withStore(async (store) => {
    const runtimes = Array.from({ length: 5 }, () => runtime(store));
    try {
      await Promise.all(runtimes.map((r) => r.host.dispatch({ ...add("y"), op: "read" })));
      const responses = await Promise.all(runtimes.map((r) => r.host.dispatch(add("y"))));
      assertEquals(responses.filter((r) => r.ok).length, 1);
      for (const response of responses.filter((r) => !r.ok)) {
        assertEquals(!response.ok && response.error.code, "stale_owner");
      }
      assertEquals((await store.events("counter/t/y", 0, 10)).map((e) => e.seq), [1]);
    } finally {
      for (const r of runtimes) r.host.close();
    }
  });
});

Deno.test("a hot actor pipelines turns: 200 concurrent commands, far fewer batches, gap-free", async () => {
  await withStore(async (store) => {
    const { host, batches } = runtime(store);
    try {
      const responses = await Promise.all(
        Array.from({ length: 200 }, () => host.dispatch(add("hot"))),
      );
      assertEquals(
        responses.map(seqOf).sort((x, y) => x - y),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assertLess(batches.length, 100);
      assertEquals(batches.reduce((s, n) => s + n, 0), 200);
      const read = await host.dispatch({ ...add("hot"), op: "read" });
      assertEquals(read.ok && (read.reply as { n: number }).n, 200);
    } finally {
      host.close();
    }
  });
});

Deno.test("idempotency: a retried command returns the original result, also after a restart", async () => {
  await withStore(async (store) => {
    const first = runtime(store);
    const request = add("idem");
    const original = await first.host.dispatch(request);
    assertEquals(await first.host.dispatch(request), original);
    first.host.close();
    const second = runtime(store);
    try {
      assertEquals(await second.host.dispatch(request), original);
      assertEquals((await store.events("counter/t/idem", 0, 10)).length, 1);
    } finally {
      second.host.close();
    }
  });
});

Deno.test("output gate: no reply, not even a rejection, before the events it rests on commit", async () => {
  await withStore(async (store) => {
    const { gated, release } = holdAppends(store);
    const { host } = runtime(gated);
    try {
      let answered = 0;
      const pending = [
        host.dispatch(add("gate")),
        host.dispatch({ ...add("gate"), command: { type: "refuse" } }),
        host.dispatch({ ...add("gate"), op: "read" }),
      ].map((p) => p.then((r) => (answered++, r)));
      await new Promise((resolve) => setTimeout(resolve, 100));
      assertEquals(answered, 0);
      assertEquals((await store.events("counter/t/gate", 0, 10)).length, 0);
      release();
      const [added, refused, read] = await Promise.all(pending);
      assertEquals(seqOf(added), 1);
      assertEquals(!refused.ok && [refused.error.code, refused.error.retryable], [
        "refused",
        false,
      ]);
      assertEquals(read.ok && (read.reply as { n: number }).n, 1);
    } finally {
      host.close();
    }
  });
});

Deno.test("a full mailbox answers overloaded; a passed deadline answers timeout", async () => {
  await withStore(async (store) => {
    const { gated, release } = holdAppends(store);
    const { host } = runtime(gated, { mailboxCapacity: 5 });
    try {
      const accepted = Array.from({ length: 5 }, () => host.dispatch(add("full")));
      const refused = await host.dispatch(add("full"));
      assertEquals(!refused.ok && [refused.error.code, refused.error.retryable], [
        "overloaded",
        true,
      ]);
      release();
      assertEquals((await Promise.all(accepted)).filter((r) => r.ok).length, 5);
      const late = await host.dispatch(add("full", { deadline: Date.now() - 1 }));
      assertEquals(!late.ok && late.error.code, "timeout");
      assertEquals((await store.events("counter/t/full", 0, 10)).length, 5);
    } finally {
      host.close();
    }
  });
});

Deno.test("an unavailable store fails the turn retryably; the next command rebuilds and succeeds", async () => {
  await withStore(async (store) => {
    let broken = false;
    const flaky = overrideStore(store, {
      appendBatch: (batch) =>
        broken ? Promise.reject(new Error("connection refused")) : store.appendBatch(batch),
    });
    const { host } = runtime(flaky);
    try {
      assertEquals(seqOf(await host.dispatch(add("flaky"))), 1);
      broken = true;
      const failed = await host.dispatch(add("flaky"));
      assertEquals(!failed.ok && [failed.error.code, failed.error.retryable], [
        "unavailable",
        true,
      ]);
      broken = false;
      assertEquals(
        seqOf(await host.dispatch(add("flaky"))),
        2,
        "nothing of the failed turn was kept",
      );
    } finally {
      host.close();
    }
  });
});

Deno.test("snapshots: an actor with a snapshot loads from it plus later events", async () => {
  await withStore(async (store) => {
    const first = runtime(store, { snapshotEvery: 10 });
    for (let i = 0; i < 25; i++) await first.host.dispatch(add("snap"));
    first.host.close();
    const loaded = await store.load("counter/t/snap", 10);
    assertEquals(loaded.snapshot?.seq, 20);
    assertEquals(loaded.events.map((e) => e.seq), [21, 22, 23, 24, 25]);
    const second = runtime(store, { snapshotEvery: 10 });
    try {
      const read = await second.host.dispatch({ ...add("snap"), op: "read" });
      assertEquals(read.ok && (read.reply as { n: number }).n, 25);
    } finally {
      second.host.close();
    }
  });
});

Deno.test("snapshots: a large state is snapshotted less often, never past ten intervals", async () => {
  assertEquals(snapshotInterval(0, { snapshotEvery: 100 }), 100);
  assertEquals(snapshotInterval(374_000, { snapshotEvery: 100 }), 731);
  assertEquals(snapshotInterval(50_000_000, { snapshotEvery: 100 }), 1000);
  // A 20 KB state: after its first snapshot, the next comes 40 events later, not 10.
  const padded = {
    ...counterDecider,
    evolve: (state: Parameters<typeof counterDecider.evolve>[0], event: CounterEvent) => ({
      ...counterDecider.evolve(state, event),
      pad: "x".repeat(20_000),
    }),
  };
  await withStore(async (store) => {
    const { host } = runtime(store, { snapshotEvery: 10, deciders: [padded] });
    try {
      for (let i = 0; i < 60; i++) await host.dispatch(add("big"));
      assertEquals((await store.load("counter/t/big", 10)).snapshot?.seq, 50);
    } finally {
      host.close();
    }
    const again = runtime(store, { snapshotEvery: 10, deciders: [padded] });
    try {
      const read = await again.host.dispatch({ ...add("big"), op: "read" });
      assertEquals(read.ok && (read.reply as { n: number }).n, 60);
    } finally {
      again.host.close();
    }
  });
});

Deno.test("idle actors are passivated and come back with their state", async () => {
  await withStore(async (store) => {
    const { host } = runtime(store, { idleMs: 200 });
    try {
      await host.dispatch(add("idle"));
      assertEquals(host.activeByKind().counter, 1);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assertEquals(host.activeByKind().counter, 0);
      assertEquals(seqOf(await host.dispatch(add("idle"))), 2);
    } finally {
      host.close();
    }
  });
});

Deno.test("durable timers: a timer set before a restart fires after it, exactly once", async () => {
  await withStore(async (store) => {
    const before = runtime(store);
    const at = Date.now() + 700;
    await before.host.dispatch({ ...add("alarm"), command: { type: "alarm", at } });
    before.host.close();

    const after = runtime(store);
    const schedulers = [0, 1].map(() =>
      new TimerScheduler({ store, deliver: (r) => after.host.dispatch(r), pollMs: 100 })
    );
    try {
      for (const s of schedulers) s.start();
      const deadline = Date.now() + 5000;
      let fired: string[] = [];
      while (Date.now() < deadline) {
        const read = await after.host.dispatch({ ...add("alarm"), op: "read" });
        fired = read.ok ? (read.reply as { fired: string[] }).fired : [];
        if (fired.length > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assertEquals(fired, [`alarm@${at}`]);
      await new Promise((resolve) => setTimeout(resolve, 400));
      const events = await store.events("counter/t/alarm", 0, 10);
      assertEquals(events.map((e) => e.type), ["alarm_set", "alarm_fired"]);
      assertGreater(events[1].at, at - 1);
      assertEquals(await store.dueTimers(Date.now() + 60_000, 10), []);
      assert(schedulers.some((s) => s.fired > 0));
    } finally {
      for (const s of schedulers) s.stop();
      after.host.close();
    }
  });
});

Deno.test("outbox: an event's command to another actor is delivered after commit, and a leftover after a crash, once", async () => {
  await withStore(async (store) => {
    const relayed: OutboxEntry[][] = [];
    const { host } = runtime(store, { onEffects: (entries) => relayed.push(entries) });
    const relay = new OutboxRelay({
      store,
      deliver: (r) => host.dispatch(r),
      pollMs: 50,
      staleMs: 0,
    });
    try {
      await host.dispatch({ ...add("a"), command: { type: "poke", target: "b" } });
      assertEquals(relayed.length, 1, "handed over once committed");
      assertEquals((await store.pendingOutbox(Date.now(), 10)).length, 1, "stored until delivered");
      // Deliver it twice, as a retry after a lost answer would: one effect.
      relay.deliver(relayed[0]);
      relay.deliver(relayed[0]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      relay.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const b = await host.dispatch({ ...add("b"), op: "read" });
      assertEquals(b.ok && (b.reply as { n: number }).n, 1);
      assertEquals(await store.pendingOutbox(Date.now(), 10), []);
    } finally {
      relay.stop();
      host.close();
    }
  });
});

Deno.test("fresh: a new actor skips the log read; a 'fresh' id that exists is fenced, not overwritten", async () => {
  await withStore(async (store) => {
    let loads = 0;
    const counted = overrideStore(store, {
      load: (key, window) => (loads++, store.load(key, window)),
    });
    const { host } = runtime(counted);
    try {
      assertEquals(seqOf(await host.dispatch(add("new", { fresh: true }))), 1);
      assertEquals(loads, 0);
      const other = runtime(counted);
      const wrong = await other.host.dispatch(add("new", { fresh: true }));
      assertEquals(!wrong.ok && wrong.error.code, "stale_owner");
      assertEquals(seqOf(await other.host.dispatch(add("new"))), 2, "a retry reads the log");
      assertEquals((await store.events("counter/t/new", 0, 10)).map((e) => e.seq), [1, 2]);
      other.host.close();
    } finally {
      host.close();
    }
  });
});
