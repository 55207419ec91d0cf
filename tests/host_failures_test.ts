import { assertEquals } from "@std/assert";
import type { ActorRequest } from "../cluster/protocol.ts";
import { counterDecider } from "./_support/counter_decider.ts";
import { overrideStore } from "./_support/services.ts";
import { add, runtime, seqOf, withStore } from "./_support/host_runtime.ts";

type Hook = "initial" | "decide" | "evolve" | "project" | "timers" | "effects" | "view";

// The counter decider, with one hook armed to throw once.
function throwingDecider(): { decider: typeof counterDecider; arm: (hook: Hook) => void } {
  let armed: Hook | null = null;
  const trip = (hook: Hook) => {
    if (armed !== hook) return;
    armed = null;
    throw new Error(`${hook} failed`);
  };
  const base = counterDecider;
  const decider: typeof counterDecider = {
    ...base,
    initial: (address) => (trip("initial"), base.initial(address)),
    decide: (state, command, ctx) => (trip("decide"), base.decide(state, command, ctx)),
    evolve: (state, event) => (trip("evolve"), base.evolve(state, event)),
    project: (state) => (trip("project"), base.project!(state)),
    timers: (state) => (trip("timers"), base.timers!(state)),
    effects: (state, event, address) => (trip("effects"), base.effects!(state, event, address)),
    view: (state) => (trip("view"), state),
  };
  return { decider, arm: (hook) => armed = hook };
}

const hooks: Hook[] = ["decide", "evolve", "project", "timers", "effects", "view"];

Deno.test("a throwing turn answers internal, is counted, and the next message is served by a reloaded activation", async () => {
  await withStore(async (store) => {
    let loads = 0;
    const counted = overrideStore(store, {
      load: (key, window) => (loads++, store.load(key, window)),
    });
    const { decider, arm } = throwingDecider();
    const failures: string[] = [];
    const { host } = runtime(counted, {
      deciders: [decider],
      onTurnFailed: (kind) => failures.push(kind),
    });
    try {
      let n = 0;
      assertEquals(seqOf(await host.dispatch(add("boom"))), ++n);
      for (const hook of hooks) {
        const loadsBefore = loads;
        arm(hook);
        const failed = await host.dispatch(add("boom"));
        assertEquals(!failed.ok && [failed.error.code, failed.error.retryable], [
          "internal",
          false,
        ], hook);
        const next = await host.dispatch(add("boom"));
        assertEquals(seqOf(next), ++n, `after ${hook}, nothing of the failed turn was kept`);
        assertEquals(next.ok && (next.reply as { n: number }).n, n);
        assertEquals(loads, loadsBefore + 1, `after ${hook}, the actor was reloaded`);
      }
      assertEquals(failures, hooks.map(() => "counter"));
      assertEquals((await store.events("counter/t/boom", 0, 100)).length, n);
    } finally {
      host.close();
    }
  });
});

Deno.test("a throwing read view answers internal and the actor serves again", async () => {
  await withStore(async (store) => {
    const { decider, arm } = throwingDecider();
    const { host } = runtime(store, { deciders: [decider] });
    try {
      assertEquals(seqOf(await host.dispatch(add("look"))), 1);
      arm("view");
      const failed = await host.dispatch({ ...add("look"), op: "read" });
      assertEquals(!failed.ok && failed.error.code, "internal");
      const read = await host.dispatch({ ...add("look"), op: "read" });
      assertEquals(read.ok && (read.reply as { n: number }).n, 1);
    } finally {
      host.close();
    }
  });
});

Deno.test("a throwing initial state answers internal without an activation; the next request activates", async () => {
  await withStore(async (store) => {
    const { decider, arm } = throwingDecider();
    const failures: string[] = [];
    const { host } = runtime(store, {
      deciders: [decider],
      onTurnFailed: (kind) => failures.push(kind),
    });
    try {
      arm("initial");
      const failed = await host.dispatch(add("born"));
      assertEquals(!failed.ok && failed.error.code, "internal");
      assertEquals([host.activeByKind().counter, failures], [0, ["counter"]]);
      assertEquals(seqOf(await host.dispatch(add("born"))), 1);
    } finally {
      host.close();
    }
  });
});

Deno.test("a throwing turn tells the jobs queued behind it stale_owner; their retry succeeds", async () => {
  await withStore(async (store) => {
    const { decider, arm } = throwingDecider();
    const { host } = runtime(store, { deciders: [decider] });
    try {
      arm("evolve");
      // All three queue while the actor loads; the first one throws.
      const answers = await Promise.all([0, 1, 2].map(() => host.dispatch(add("queue"))));
      assertEquals(answers.map((a) => !a.ok && a.error.code), [
        "internal",
        "stale_owner",
        "stale_owner",
      ]);
      assertEquals(seqOf(await host.dispatch(add("queue"))), 1);
    } finally {
      host.close();
    }
  });
});

Deno.test("a retired activation answers the jobs still queued in its mailbox stale_owner, and writes nothing", async () => {
  await withStore(async (store) => {
    let releaseLoad!: () => void;
    const loadHeld = new Promise<void>((resolve) => releaseLoad = resolve);
    const held = overrideStore(store, {
      load: async (key, window) => {
        await loadHeld;
        return await store.load(key, window);
      },
    });
    const { host } = runtime(held);
    try {
      const queued = [0, 1, 2].map(() => host.dispatch(add("moved")));
      // A rebalance passivates the actor while it is still loading.
      assertEquals(host.passivate(() => true), 1);
      releaseLoad();
      const answers = await Promise.all(queued);
      assertEquals(
        answers.map((a) => !a.ok && [a.error.code, a.error.retryable]),
        answers.map(() => ["stale_owner", true]),
      );
      assertEquals(await store.events("counter/t/moved", 0, 10), []);
    } finally {
      host.close();
    }
  });
});

Deno.test("ghost actors: 400 requests for ids that do not exist leave no activation behind", async () => {
  await withStore(async (store) => {
    const { host } = runtime(store);
    try {
      const unknown = (i: number): ActorRequest => add(`ghost-${i}`);
      const answers = await Promise.all([
        ...Array.from({ length: 200 }, (_, i) => host.dispatch({ ...unknown(i), op: "read" })),
        ...Array.from(
          { length: 200 },
          (_, i) => host.dispatch({ ...unknown(200 + i), command: { type: "refuse" } }),
        ),
      ]);
      assertEquals(answers.filter((a) => a.ok), []);
      assertEquals(host.activeByKind().counter, 0);
      assertEquals(seqOf(await host.dispatch(add("real"))), 1);
      assertEquals(host.activeByKind().counter, 1, "an actor with events stays");
    } finally {
      host.close();
    }
  });
});
