// The queue's items in shards: what an event copies, and a snapshot of an
// older version (one record of every item) read back through the runtime's
// restore.
import { assert, assertEquals } from "@std/assert";
import { defaultTenantSettings } from "../actors/decider.ts";
import {
  allItems,
  itemAt,
  itemKey,
  queueDecider,
  type QueueItem,
  queuePositions,
  type QueueState,
} from "../actors/queue.ts";
import { type Activation, newActivation, restore } from "../cluster/runtime/_activation.ts";
import { deciderHarness } from "./_support/decider_harness.ts";

const address = { kind: "queue", tenant: "acme", id: "main" };
const { given } = deciderHarness(queueDecider, { address, tenant: defaultTenantSettings });
const arrivals = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({
    type: "arrive" as const,
    item: { kind: "ticket" as const, id: `t${from + i}` },
  }));

Deno.test("queue items: an arrival copies the one shard its item goes to, not every item", () => {
  const before = given(arrivals(0, 500));
  const after = given(arrivals(500, 1), before);
  const copied = after.state.items.filter((shard, i) => shard !== before.state.items[i]);
  assertEquals(copied.length, 1);
  assert(Object.keys(copied[0]).length < 50, "a shard holds a small share of 501 items");
  assertEquals(allItems(after.state.items).length, 501);
  assertEquals(itemAt(after.state.items, "ticket:t500")?.id, "t500");
});

Deno.test("queue items: a snapshot of one record of every item is sharded when restored", () => {
  const run = given(arrivals(0, 200));
  const flat: Record<string, QueueItem> = {};
  for (const item of allItems(run.state.items)) flat[itemKey(item)] = item;
  const older = JSON.parse(JSON.stringify({ ...run.state, items: flat }));
  const activation = {
    ...newActivation("q", address, queueDecider, { now: 0, recentCommands: 10 }),
    mailbox: undefined as never,
  } as Activation;
  restore(activation, {
    snapshot: { seq: 200, state: older },
    events: [],
    idempotency: [],
    timers: [],
  });
  const state = activation.state as QueueState;
  assertEquals(
    allItems(state.items).map(itemKey).sort(),
    allItems(run.state.items).map(itemKey).sort(),
  );
  assertEquals(itemAt(state.items, "ticket:t7"), flat["ticket:t7"]);
  assertEquals(queuePositions(state, 0), queuePositions(run.state, 0));
  const next = given(arrivals(200, 1), { ...run, state });
  assertEquals(allItems(next.state.items).length, 201);
});
