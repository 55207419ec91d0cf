// The queue's carried index (actors/_queue_index.ts) against the plain
// definitions it replaces: over random runs of arrivals, departures,
// assignments, offers, requeues, absences and timers, every state's queue
// order, positions, loads and timers are what a sort and a scan of its items
// give, whether the index came along from the previous state or was rebuilt.
import { assertEquals } from "@std/assert";
import fc from "fast-check";
import {
  defaultRoutingSettings,
  defaultTenantSettings,
  type Priority,
  type TenantSettings,
} from "../actors/decider.ts";
import {
  allItems,
  itemKey,
  queueDecider,
  type QueueItem,
  queuePositions,
  type QueueState,
  queueSummary,
  routable,
} from "../actors/queue.ts";
import { loads, waitingInOrder } from "../actors/_queue_work.ts";

const address = { kind: "queue", tenant: "acme", id: "main" };
const rank: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };
const priorities: Priority[] = ["low", "normal", "high", "urgent"];

function naiveOrder(state: QueueState): QueueItem[] {
  return allItems(state.items).filter((item) => item.holder === null).sort((a, b) =>
    rank[a.priority] - rank[b.priority] || a.arrivedAt - b.arrivedAt ||
    (itemKey(a) < itemKey(b) ? -1 : 1)
  );
}

function naivePositions(state: QueueState): [string, number][] {
  const next = { chat: 0, ticket: 0 };
  return naiveOrder(state).map((item) => [itemKey(item), ++next[item.kind]]);
}

function naiveLoads(state: QueueState): Record<string, number[]> {
  const result: Record<string, number[]> = {};
  const of = (agent: string) => result[agent] ??= [0, 0, 0, 0];
  for (const item of allItems(state.items)) {
    if (item.holder !== null) of(item.holder)[item.kind === "chat" ? 0 : 1]++;
  }
  for (const offer of Object.values(state.offers)) {
    of(offer.agent)[offer.item.kind === "chat" ? 2 : 3]++;
  }
  return result;
}

function naiveTimers(state: QueueState): string[] {
  const names = Object.entries(state.offers).map(([key, offer]) =>
    `offer:${key}@${offer.deadline}`
  );
  for (const item of allItems(state.items)) {
    const key = itemKey(item);
    const step = item.relaxation[item.relaxed];
    if (item.holder !== null || item.escalated !== null || state.offers[key] || !step) continue;
    names.push(`relax:${key}@${item.arrivedAt + step.afterMs}`);
  }
  const holders = new Set(allItems(state.items).map((item) => item.holder));
  for (const agent of Object.values(state.agents)) {
    if (agent.releaseAt !== null && holders.has(agent.id)) {
      names.push(`release:${agent.id}@${agent.releaseAt}`);
    }
  }
  return names.sort();
}

function derived(state: QueueState, now: number) {
  const load: Record<string, number[]> = {};
  for (const [agent, { held, offered }] of loads(state)) {
    load[agent] = [held.chats, held.tickets, offered.chats, offered.tickets];
  }
  return {
    order: waitingInOrder(state).map(itemKey),
    positions: queuePositions(state, now).map((p) => [itemKey(p.item), p.position]),
    load,
    timers: queueDecider.timers!(state).map(({ name, at }) => `${name}@${at}`).sort(),
    routable: routable(state, now).map(({ item, candidates }) => [
      itemKey(item),
      candidates.map((agent) => agent.id),
    ]),
    summary: queueSummary(state),
  };
}

function assertAgrees(state: QueueState, now: number): void {
  const carried = derived(state, now);
  assertEquals(carried.order, naiveOrder(state).map(itemKey));
  assertEquals(carried.positions, naivePositions(state));
  assertEquals(carried.load, naiveLoads(state));
  assertEquals(carried.timers, naiveTimers(state));
  // A copy has no index of its own: it is rebuilt from the items.
  assertEquals(derived(structuredClone(state), now), carried);
}

const ids = fc.constantFrom("a", "b", "c", "d", "e", "f", "g", "h");
const agents = fc.constantFrom("alice", "bob", "carol");
const kind = fc.constantFrom("chat" as const, "ticket" as const);
const ref = fc.record({ kind, id: ids });
const command = fc.oneof(
  fc.record({
    type: fc.constant("arrive"),
    item: fc.record({ kind, id: ids, priority: fc.constantFrom(...priorities) }),
  }),
  fc.record({
    type: fc.constant("leave"),
    item: ref,
    reason: fc.constantFrom("claimed", "closed", "resolved"),
    agent: agents,
  }),
  fc.record({ type: fc.constant("requeue"), item: ref }),
  fc.record({
    type: fc.constant("availability"),
    agent: agents,
    status: fc.constantFrom("online", "online", "away", "offline"),
    capacity: fc.record({ chats: fc.nat(2), tickets: fc.nat(2) }),
  }),
  fc.record({ type: fc.constant("agent_gone"), agent: agents }),
  fc.record({ type: fc.constant("route"), pick: fc.nat(10), agent: fc.nat(10) }),
  fc.record({ type: fc.constant("answer"), accept: fc.boolean(), pick: fc.nat(10) }),
  fc.record({ type: fc.constant("escalate"), item: ref }),
  fc.record({ type: fc.constant("fire"), pick: fc.nat(10) }),
);

// The property's commands, made concrete against the state they meet.
function concrete(state: QueueState, cmd: Record<string, unknown>, now: number): unknown {
  const pickOf = <T>(list: T[], at: number) => list.length === 0 ? null : list[at % list.length];
  switch (cmd.type) {
    case "route": {
      const work = pickOf(routable(state, now), cmd.pick as number);
      const agent = work && pickOf(work.candidates, cmd.agent as number);
      if (!work || !agent) return null;
      return {
        type: "route_decision",
        item: { kind: work.item.kind, id: work.item.id },
        decision: { assign: agent.id },
        router: "test",
        version: "1",
        candidates: [],
        rule: "test",
      };
    }
    case "answer": {
      const offer = pickOf(Object.values(state.offers), cmd.pick as number);
      if (!offer) return null;
      const by = { sub: offer.agent, role: "agent" };
      return { type: cmd.accept ? "accept" : "decline", item: offer.item, by };
    }
    case "escalate":
      return {
        type: "route_decision",
        item: cmd.item,
        decision: { escalate: {} },
        router: "test",
        version: "1",
        candidates: [],
        rule: "test",
      };
    case "fire": {
      const due = pickOf(queueDecider.timers!(state), cmd.pick as number);
      return due && { type: "timer", ...due };
    }
    default:
      return cmd;
  }
}

Deno.test("queue index: order, positions, loads and timers agree with a sort and a scan", () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.array(fc.tuple(command, fc.nat(40_000)), { maxLength: 80 }),
      (offering, steps) => {
        const tenant: TenantSettings = {
          ...defaultTenantSettings,
          routing: {
            ...defaultRoutingSettings,
            offerSeconds: offering ? 20 : 0,
            relaxation: [{ afterMs: 30_000, drop: "optional" }, {
              afterMs: 90_000,
              drop: "required",
            }],
            releaseAfterSeconds: 60,
            maxWaiting: 12,
          },
        };
        let state = queueDecider.initial(address);
        let now = 1_000_000;
        for (const [raw, elapsed] of steps) {
          now += elapsed;
          const cmd = concrete(state, raw, now);
          if (!cmd) continue;
          const ctx = { now, actor: address, commandId: "c", tenant };
          // deno-lint-ignore no-explicit-any
          const decision = queueDecider.decide(state, cmd as any, ctx);
          if ("reject" in decision) continue;
          const previous = state;
          for (const event of decision.events) state = queueDecider.evolve(state, event);
          assertAgrees(state, now);
          // Earlier states keep what they were.
          assertEquals(waitingInOrder(previous).map(itemKey), naiveOrder(previous).map(itemKey));
        }
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("queue index: a command answers with counts, not the queue", () => {
  let state = queueDecider.initial(address);
  const tenant = defaultTenantSettings;
  for (const [at, id] of ["a", "b", "c"].entries()) {
    const ctx = { now: 1_000 + at, actor: address, commandId: id, tenant };
    const decision = queueDecider.decide(state, {
      type: "arrive",
      item: { kind: id === "c" ? "ticket" : "chat", id },
    }, ctx);
    if ("reject" in decision) throw new Error(decision.reject.message);
    for (const event of decision.events) state = queueDecider.evolve(state, event);
  }
  assertEquals(queueDecider.view!(state), {
    waiting: { chats: 2, tickets: 1 },
    offers: 0,
    agents: 0,
    updatedAt: 1_002,
  });
});
