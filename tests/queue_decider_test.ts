import { assert, assertEquals, assertObjectMatch } from "@std/assert";
import fc from "fast-check";
import {
  defaultRoutingSettings,
  defaultTenantSettings,
  type RoutingSettings,
  systemSub,
  type TenantSettings,
  type TimerCommand,
} from "../actors/decider.ts";
import {
  allItems,
  backlogRoom,
  heldBy,
  itemAt,
  type ItemInput,
  itemKey,
  type ItemRef,
  leaveReasons,
  type QueueCommand,
  queueDecider as queue,
  type QueueEvent,
  queueLimits,
  queuePositions,
  type QueueState,
  queueView,
  routable,
  routingInput,
} from "../actors/queue.ts";
import { deciderHarness, T0, timer } from "./_support/decider_harness.ts";
import type { DeciderInput, DeciderRun, DeciderStep } from "./_support/decider_harness.ts";
import { alice, bob } from "./_support/decider_harness.ts";

const address = { kind: "queue", tenant: "acme", id: "main" };
const SEC = 1_000;

const withRouting = (routing: Partial<RoutingSettings>): TenantSettings => ({
  ...defaultTenantSettings,
  routing: { ...defaultRoutingSettings, ...routing },
});
/** Direct assignment, 2 minutes' grace for a gone agent. */
const tenant = withRouting({});
/** Offers with 20 seconds to answer. */
const offering = withRouting({ offerSeconds: 20 });
/** Drop optional skills after 30 s, everything but the team after 90 s. */
const relaxing = withRouting({
  relaxation: [{ afterMs: 90 * SEC, drop: "required" }, { afterMs: 30 * SEC, drop: "optional" }],
});

type Command = QueueCommand | TimerCommand;
type CommandOf<T extends QueueCommand["type"]> = Extract<QueueCommand, { type: T }>;
type Run = DeciderRun<QueueState, QueueEvent>;

const { given, when, rejection, events, replay, assertLimit } = deciderHarness(queue, {
  address,
  tenant,
});

const chat = (id: string): ItemRef => ({ kind: "chat", id });
const ticket = (id: string): ItemRef => ({ kind: "ticket", id });
const arrive = (item: ItemRef, over: Partial<ItemInput> = {}): CommandOf<"arrive"> => ({
  type: "arrive",
  item: { ...item, ...over },
});
const online = (
  agent: string,
  over: Partial<CommandOf<"availability">> = {},
): CommandOf<"availability"> => ({ type: "availability", agent, status: "online", ...over });
const assign = (
  item: ItemRef,
  agent: string,
  over: Partial<CommandOf<"route_decision">> = {},
): CommandOf<"route_decision"> => ({
  type: "route_decision",
  item,
  decision: { assign: agent },
  router: "least-loaded",
  version: "1.0.0",
  candidates: [{ id: agent, score: 1 }],
  rule: "least loaded, ties to the longest idle",
  ...over,
});
const leave = (
  item: ItemRef,
  reason: CommandOf<"leave">["reason"],
  agent?: string,
): CommandOf<"leave"> => ({ type: "leave", item, reason, ...(agent ? { agent } : {}) });
const gone = (agent: string): CommandOf<"agent_gone"> => ({ type: "agent_gone", agent });
const accept = (item: ItemRef, by = alice): CommandOf<"accept"> => ({ type: "accept", item, by });
const decline = (item: ItemRef, by = alice): CommandOf<"decline"> => ({
  type: "decline",
  item,
  by,
});
const at = (ms: number, command: Command, settings = tenant): DeciderStep<QueueCommand> => ({
  command,
  at: T0 + ms,
  tenant: settings,
});
const offered = (command: Command, ms = 0): DeciderStep<QueueCommand> => at(ms, command, offering);

const ids = (refs: ItemRef[]) => refs.map((ref) => `${ref.kind}:${ref.id}`).sort();
const routableIds = (run: Run, now = run.now) =>
  routable(run.state, now).map(({ item, candidates }) => ({
    item: item.id,
    candidates: candidates.map((agent) => agent.id),
  }));
const types = (list: QueueEvent[]) => list.map((event) => event.type);
/** Why a route decision was refused. */
const refusalReason = (run: Run, command: DeciderInput<QueueCommand>) => {
  const refused = rejection(when(run, command).decision);
  assertEquals(refused.code, "route_refused");
  return (refused.details as { reason: string }).reason;
};
/** Alice and Bob online, chat c1 offered to Alice. */
const offeredToAlice = () =>
  given([online("alice"), online("bob"), arrive(chat("c1")), offered(assign(chat("c1"), "alice"))]);

Deno.test("queue: an arrival waits; arriving again changes nothing", () => {
  const run = given([arrive(chat("c1"), { priority: "high", tags: ["vip"] })]);
  assertEquals(types(run.events), ["arrived"]);
  assertObjectMatch(itemAt(run.state.items, "chat:c1")!, {
    priority: "high",
    tags: ["vip"],
    arrivedAt: T0,
    holder: null,
  });
  assertEquals(events(when(run, at(5 * SEC, arrive(chat("c1")))).decision), []);
  // A ticket may share a session's id: kinds have separate id spaces.
  assertEquals(types(events(when(run, arrive(ticket("c1"))).decision)), ["arrived"]);
});

Deno.test("queue: an arrival is checked field by field", () => {
  const run = given([]);
  assertLimit(run, arrive(chat("")), "item.id");
  assertLimit(run, { type: "arrive", item: { kind: "email", id: "e" } } as never, "item.kind");
  assertLimit(run, arrive(chat("c1"), { priority: "asap" as never }), "item.priority");
  const tags = Array.from({ length: queueLimits.tags + 1 }, (_, i) => `t${i}`);
  assertLimit(run, arrive(chat("c1"), { tags }), "item.tags");
  assertLimit(run, arrive(chat("c1"), { tags: tags.slice(1) }), "ok");
  assertLimit(
    run,
    arrive(chat("c1"), { skills: { required: [7 as never] } }),
    "item.skills.required",
  );
  assertLimit(run, arrive(chat("c1"), { skills: "billing" as never }), "item.skills");
  assertLimit(run, arrive(chat("c1"), { team: "x".repeat(201) }), "item.team");
  assertEquals(
    rejection(when(run, { type: "enqueue" } as never).decision).code,
    "invalid_command",
  );
});

Deno.test("queue: arrivals past the tenant's cap are refused with queue_full", () => {
  const small = withRouting({ maxWaiting: 2 });
  const run = given([at(0, arrive(chat("c1")), small), at(0, arrive(ticket("t1")), small)]);
  const refused = rejection(when(run, at(0, arrive(chat("c2")), small)).decision);
  assertEquals([refused.code, refused.details], ["queue_full", { maxWaiting: 2 }]);
  // Once one is taken there is room again.
  const freed = given([online("alice"), assign(chat("c1"), "alice")], run);
  assertEquals(types(events(when(freed, at(0, arrive(chat("c2")), small)).decision)), ["arrived"]);
});

Deno.test("queue: a ticket past the cap is backlogged, not refused, and raises the generation", () => {
  const small = withRouting({ maxWaiting: 2 });
  const full = given([at(0, arrive(chat("c1")), small), at(0, arrive(ticket("t1")), small)]);
  assertEquals(full.state.backlog, undefined);
  const run = given([at(0, arrive(ticket("t2")), small), at(0, arrive(ticket("t3")), small)], full);
  assertEquals(run.events, [
    { type: "backlogged", at: T0, item: ticket("t2") },
    { type: "backlogged", at: T0, item: ticket("t3") },
  ]);
  assertEquals(run.state.backlog, { open: true, generation: 2 });
  // Backlogged tickets stay in the store, not in the queue's state.
  assertEquals(allItems(run.state.items).map(itemKey).sort(), ["chat:c1", "ticket:t1"]);
  assertEquals(rejection(when(run, at(0, arrive(chat("c2")), small)).decision).code, "queue_full");
  assertEquals(replay([...full.events, ...run.events]).backlog, run.state.backlog);
});

Deno.test("queue: only a drain of the latest generation clears the backlog", () => {
  const small = withRouting({ maxWaiting: 1 });
  const run = given([
    at(0, arrive(ticket("t1")), small),
    at(0, arrive(ticket("t2")), small),
    at(0, arrive(ticket("t3")), small),
  ]);
  const drained = (generation: number) => ({ type: "backlog_drained", generation } as const);
  // t3 overflowed after a search that started at generation 1: the backlog stays.
  assertEquals(events(when(run, drained(1)).decision), []);
  const cleared = given([drained(2)], run);
  assertEquals(types(cleared.events), ["backlog_drained"]);
  assertEquals(cleared.state.backlog, { open: false, generation: 2 });
  assertEquals(events(when(cleared, drained(2)).decision), []);
  assertEquals(events(when(given([]), drained(0)).decision), []);
  assertLimit(run, drained(-1), "generation");
  assertLimit(run, { type: "backlog_drained", generation: "2" } as never, "generation");
  // A later overflow opens it again, one generation on.
  const again = given([at(0, arrive(ticket("t4")), small)], cleared);
  assertEquals(again.state.backlog, { open: true, generation: 3 });
});

Deno.test("queue: the runtime refills a backlog once the queue is below half its cap", () => {
  const small = withRouting({ maxWaiting: 4 });
  const items = ["t1", "t2", "t3", "t4", "t5"].map((id) => at(0, arrive(ticket(id)), small));
  const run = given([online("alice", { capacity: { tickets: 10 } }), ...items]);
  assertEquals(backlogRoom(run.state, 4), null);
  const one = given([assign(ticket("t1"), "alice"), assign(ticket("t2"), "alice")], run);
  assertEquals(backlogRoom(one.state, 4), null);
  const below = given([assign(ticket("t3"), "alice")], one);
  assertEquals(backlogRoom(below.state, 4), { generation: 1, room: 3 });
  // A ticket already waiting or held arrives again as a no-op.
  assertEquals(events(when(below, at(0, arrive(ticket("t1")), small)).decision), []);
  assertEquals(events(when(below, at(0, arrive(ticket("t4")), small)).decision), []);
  assertEquals(
    backlogRoom(given([{ type: "backlog_drained", generation: 1 }], below).state, 4),
    null,
  );
});

Deno.test("queue: routable work is each waiting item with the agents that may take it now", () => {
  const run = given([
    online("alice", { skills: ["billing"], languages: ["de"], teams: ["support"] }),
    online("bob", { skills: ["billing"], languages: ["en"], teams: ["support"] }),
    online("carol", { skills: [], languages: ["de"], teams: ["support"] }),
    { type: "availability", agent: "dave", status: "away", skills: ["billing"], languages: ["de"] },
    online("erin", { skills: ["billing"], languages: ["de"], teams: ["sales"] }),
    arrive(chat("c1"), { skills: { required: ["billing"] }, language: "de", team: "support" }),
    at(SEC, arrive(chat("c2"), { priority: "urgent" })),
  ]);
  assertEquals(routableIds(run), [
    { item: "c2", candidates: ["alice", "bob", "carol", "erin"] },
    { item: "c1", candidates: ["alice"] },
  ]);
});

Deno.test("queue: a valid route decision assigns, with its explanation", () => {
  const run = given([online("alice"), online("bob"), arrive(chat("c1"))]);
  const candidates = Array.from({ length: 12 }, (_, i) => ({ id: `a${i}`, score: i }));
  const { decision, run: after } = when(
    run,
    at(
      2 * SEC,
      assign(chat("c1"), "alice", {
        candidates,
        decision: { assign: "alice", reason: "idle longest" },
      }),
    ),
  );
  const [assigned] = events(decision);
  assertObjectMatch(assigned, {
    type: "assigned",
    at: T0 + 2 * SEC,
    item: chat("c1"),
    agent: "alice",
    via: "router",
    explanation: {
      router: "least-loaded",
      version: "1.0.0",
      rule: "least loaded, ties to the longest idle",
      reason: "idle longest",
    },
  });
  // The explanation keeps the best ten, best first, so the event stays small.
  const kept = (assigned as Extract<QueueEvent, { type: "assigned" }>).explanation.candidates;
  assertEquals(kept.map((c) => c.id), [
    "a11",
    "a10",
    "a9",
    "a8",
    "a7",
    "a6",
    "a5",
    "a4",
    "a3",
    "a2",
  ]);
  assertEquals(ids(heldBy(after.state, "alice")), ["chat:c1"]);
  assertEquals(after.state.agents.alice.lastAssignedAt, T0 + 2 * SEC);
  assertEquals(routableIds(after), []);
  assertEquals(queueView(after.state, after.now).waiting, []);
});

Deno.test("queue: a route decision the state no longer allows is refused, so the runtime asks again", () => {
  const run = given([
    online("alice", { capacity: { chats: 1 }, skills: ["billing"] }),
    online("bob", { capacity: { chats: 1 } }),
    { type: "availability", agent: "carol", status: "away" },
    arrive(chat("c1")),
    arrive(chat("c2"), { skills: { required: ["billing"] } }),
    arrive(chat("c3")),
    assign(chat("c1"), "alice"),
  ]);
  const reasonOf = (command: Command) => refusalReason(run, command);
  assertEquals(reasonOf(assign(chat("c3"), "alice")), "no_room");
  assertEquals(reasonOf(assign(chat("c2"), "bob")), "requirements");
  assertEquals(reasonOf(assign(chat("c3"), "carol")), "agent_unavailable");
  assertEquals(reasonOf(assign(chat("c3"), "zed")), "unknown_agent");
  const escalated = given([{ ...assign(chat("c3"), "bob"), decision: { escalate: {} } }], run);
  assertEquals(
    rejection(when(escalated, assign(chat("c3"), "bob")).decision).code,
    "route_refused",
  );
  // Stale decisions (the item went meanwhile) and `wait` change nothing.
  assertEquals(events(when(run, assign(chat("c1"), "bob")).decision), []);
  assertEquals(events(when(run, assign(chat("gone"), "bob")).decision), []);
  assertEquals(
    events(when(run, { ...assign(chat("c3"), "bob"), decision: { wait: {} } }).decision),
    [],
  );
});

Deno.test("queue: an escalated item waits for a person, not a router", () => {
  const run = given([online("alice"), arrive(chat("c1"))]);
  const escalate = { ...assign(chat("c1"), "alice"), decision: { escalate: {}, reason: "VIP" } };
  const { decision, run: after } = when(run, escalate);
  assertObjectMatch(events(decision)[0], { type: "escalated", item: chat("c1"), reason: "VIP" });
  assertEquals(events(when(after, escalate).decision), []);
  assertEquals(routableIds(after), []);
  assertObjectMatch(queueView(after.state, after.now).waiting[0], { id: "c1", escalated: "VIP" });
  const claimed = given([leave(chat("c1"), "claimed", "sue")], after);
  assertEquals(ids(heldBy(claimed.state, "sue")), ["chat:c1"]);
});

Deno.test("queue: a route decision is checked field by field", () => {
  const run = given([online("alice"), arrive(chat("c1"))]);
  assertLimit(
    run,
    { ...assign(chat("c1"), "alice"), decision: { assign: "alice", wait: {} } },
    "decision",
  );
  assertLimit(run, { ...assign(chat("c1"), "alice"), decision: null as never }, "decision");
  assertLimit(run, assign(chat("c1"), ""), "decision.assign");
  assertLimit(run, assign(chat("c1"), "alice", { router: "" }), "router");
  assertLimit(run, assign(chat("c1"), "alice", { rule: "x".repeat(201) }), "rule");
  assertLimit(
    run,
    assign(chat("c1"), "alice", { candidates: [{ id: "a", score: NaN }] }),
    "candidates.score",
  );
  assertLimit(run, assign(chat("c1"), "alice", { candidates: "all" as never }), "candidates");
  assertLimit(run, assign(chat("c1"), "alice"), "ok");
});

Deno.test("queue: a claim by hand moves the item to the claimer, even past capacity, shown as excess", () => {
  const run = given([
    online("alice", { capacity: { chats: 1 } }),
    arrive(chat("c1")),
    arrive(chat("c2")),
    assign(chat("c1"), "alice"),
    leave(chat("c2"), "assigned", "alice"),
  ]);
  assertEquals(ids(heldBy(run.state, "alice")), ["chat:c1", "chat:c2"]);
  assertObjectMatch(queueView(run.state, run.now).agents[0], {
    id: "alice",
    capacity: { chats: 1, tickets: 10 },
    load: { chats: 2, tickets: 0 },
    excess: { chats: 1, tickets: 0 },
  });
  // The item's own actor reporting what the queue already knows changes nothing.
  assertEquals(events(when(run, leave(chat("c1"), "claimed", "alice")).decision), []);
});

Deno.test("queue: a hand claim that came first wins over the queue's assignment", () => {
  const run = given([online("alice"), arrive(chat("c1")), assign(chat("c1"), "alice")]);
  const after = given([leave(chat("c1"), "claimed", "bob")], run);
  assertEquals([heldBy(after.state, "alice"), ids(heldBy(after.state, "bob"))], [[], ["chat:c1"]]);
  // Work created already assigned is recorded, so its load counts.
  const direct = given([leave(ticket("t9"), "assigned", "alice")], after);
  assertEquals(ids(heldBy(direct.state, "alice")), ["ticket:t9"]);
});

Deno.test("queue: closing, resolving or converting an item frees its holder", () => {
  const run = given([
    online("alice"),
    arrive(chat("c1")),
    arrive(chat("c2")),
    arrive(ticket("t1")),
    assign(chat("c1"), "alice"),
    assign(ticket("t1"), "alice"),
  ]);
  const after = given([
    leave(chat("c1"), "closed"),
    leave(ticket("t1"), "resolved"),
    leave(chat("c2"), "converted"),
  ], run);
  assertEquals([heldBy(after.state, "alice"), allItems(after.state.items)], [[], []]);
  assertEquals(events(when(after, leave(chat("c1"), "closed")).decision), []);
  assertLimit(after, leave(chat("c1"), "lost" as never), "reason");
  assertLimit(after, leave(chat("c1"), "claimed"), "agent");
});

Deno.test("queue: a requeued item waits afresh and frees its holder", () => {
  const run = given([
    online("alice", { teams: ["support"] }),
    online("bob", { teams: ["billing"] }),
    arrive(ticket("t1"), { team: "support" }),
    assign(ticket("t1"), "alice"),
  ]);
  const { decision, run: back } = when(run, at(60 * SEC, { type: "requeue", item: ticket("t1") }));
  assertEquals(events(decision), [
    { type: "requeued", at: T0 + 60 * SEC, item: ticket("t1"), from: "alice", team: "support" },
  ]);
  assertEquals(heldBy(back.state, "alice"), []);
  assertObjectMatch(itemAt(back.state.items, "ticket:t1")!, {
    holder: null,
    previousAgent: "alice",
    arrivedAt: T0 + 60 * SEC,
  });
  assertEquals(routableIds(back), [{ item: "t1", candidates: ["alice"] }]);
  // Transferred to another team while it waits: the team changes, and so do its candidates.
  const moved = given([{ type: "requeue", item: ticket("t1"), team: "billing" }], back);
  assertEquals(routableIds(moved), [{ item: "t1", candidates: ["bob"] }]);
  assertEquals(events(when(moved, { type: "requeue", item: ticket("t1") }).decision), []);
  assertEquals(events(when(moved, { type: "requeue", item: ticket("t9") }).decision), []);
  assertLimit(moved, { type: "requeue", item: ticket("t1"), team: "" }, "team");
});

Deno.test("queue: availability takes the tenant's capacity first, then keeps what is not restated", () => {
  const run = given([
    at(
      0,
      online("alice", { skills: ["billing"] }),
      withRouting({ capacity: { chats: 2, tickets: 5 } }),
    ),
  ]);
  assertObjectMatch(run.state.agents.alice, {
    capacity: { chats: 2, tickets: 5 },
    skills: ["billing"],
  });
  const after = given([{
    type: "availability",
    agent: "alice",
    status: "away",
    capacity: { tickets: 7 },
  }], run);
  assertObjectMatch(after.state.agents.alice, {
    status: "away",
    capacity: { chats: 2, tickets: 7 },
    skills: ["billing"],
  });
  assertEquals(
    events(when(after, { type: "availability", agent: "alice", status: "away" }).decision),
    [],
  );
  assertLimit(run, online("alice", { capacity: { chats: -1 } }), "capacity.chats");
  assertLimit(run, online("alice", { capacity: { tickets: 1.5 } }), "capacity.tickets");
  assertLimit(run, online("alice", { status: "busy" as never }), "status");
  assertLimit(run, online("alice", { skills: "billing" as never }), "skills");
  assertLimit(run, online(""), "agent");
});

Deno.test("queue: past its agent cap a queue refuses new agents, not known ones", () => {
  const run = given(Array.from({ length: queueLimits.agents }, (_, i) => online(`a${i}`)));
  assertEquals(rejection(when(run, online("one-more")).decision).code, "too_many_agents");
  assertEquals(
    types(events(when(run, { type: "availability", agent: "a0", status: "away" }).decision)),
    [
      "availability_changed",
    ],
  );
});

Deno.test("queue: a gone agent stops getting work at once and keeps its work until the release timer", () => {
  const run = given([
    online("alice"),
    online("bob"),
    arrive(chat("c1"), { previousAgent: "carol" }),
    arrive(chat("c2")),
    assign(chat("c1"), "alice"),
    at(10 * SEC, gone("alice")),
  ]);
  assertEquals(routableIds(run), [{ item: "c2", candidates: ["bob"] }]);
  assertEquals(ids(heldBy(run.state, "alice")), ["chat:c1"]);
  const releaseAt = T0 + 10 * SEC + defaultRoutingSettings.releaseAfterSeconds * SEC;
  assertEquals(queue.timers!(run.state), [{ name: "release:alice", at: releaseAt }]);
  assertEquals(events(when(run, gone("alice")).decision), []);
  assertEquals(events(when(run, gone("nobody")).decision), []);
  const { decision, run: released } = when(
    run,
    at(releaseAt - T0, timer("release:alice", releaseAt)),
  );
  assertObjectMatch(events(decision)[0], { type: "released", agent: "alice", items: [chat("c1")] });
  assertEquals(heldBy(released.state, "alice"), []);
  assertObjectMatch(itemAt(released.state.items, "chat:c1")!, {
    holder: null,
    previousAgent: "alice",
  });
  assertEquals(queue.timers!(released.state), []);
  assertEquals(events(when(released, timer("release:alice", releaseAt)).decision), []);
});

Deno.test("queue: work handed by hand to a gone agent gets a fresh grace period", () => {
  const run = given([
    online("alice"),
    arrive(chat("c1")),
    assign(chat("c1"), "alice"),
    gone("alice"),
    leave(chat("c1"), "closed"),
  ]);
  // Nothing held, so no timer, though the old deadline is still on record.
  assertEquals(queue.timers!(run.state), []);
  const later = T0 + 10 * 60 * SEC;
  const { decision, run: after } = when(
    run,
    at(later - T0, leave(chat("c2"), "assigned", "alice")),
  );
  assertEquals(types(events(decision)), ["left", "agent_gone"]);
  assertEquals(queue.timers!(after.state), [{
    name: "release:alice",
    at: later + defaultRoutingSettings.releaseAfterSeconds * SEC,
  }]);
});

Deno.test("queue: an agent back before the release timer keeps its work", () => {
  const run = given([
    online("alice"),
    arrive(chat("c1")),
    assign(chat("c1"), "alice"),
    gone("alice"),
  ]);
  const [{ at: releaseAt }] = queue.timers!(run.state);
  const back = given([online("alice")], run);
  assertEquals(queue.timers!(back.state), []);
  assertEquals(events(when(back, timer("release:alice", releaseAt)).decision), []);
  assertEquals(ids(heldBy(back.state, "alice")), ["chat:c1"]);
  // Going offline on purpose is the same as going away for good.
  const off = given([{ type: "availability", agent: "alice", status: "offline" }], back);
  assertEquals(queue.timers!(off.state).map((t) => t.name), ["release:alice"]);
});

Deno.test("queue: with offers a route decision offers, and accepting assigns with the explanation", () => {
  const run = given([
    online("alice"),
    arrive(chat("c1")),
    offered(assign(chat("c1"), "alice"), SEC),
  ]);
  const offer = run.events.at(-1)!;
  assertObjectMatch(offer, { type: "offered", agent: "alice", deadline: T0 + 21 * SEC });
  assertEquals(queue.timers!(run.state), [{ name: "offer:chat:c1", at: T0 + 21 * SEC }]);
  // Offered is still waiting (it has its position) but is not routable.
  assertEquals(routableIds(run), []);
  assertObjectMatch(queueView(run.state, run.now).waiting[0], {
    id: "c1",
    offeredTo: "alice",
    position: 1,
  });
  assertEquals(rejection(when(run, accept(chat("c1"), bob)).decision).code, "forbidden");
  assertEquals(
    rejection(when(run, offered(assign(chat("c1"), "alice"))).decision).code,
    "route_refused",
  );
  const { decision, run: after } = when(run, at(5 * SEC, accept(chat("c1"))));
  assertObjectMatch(events(decision)[0], {
    type: "assigned",
    agent: "alice",
    via: "offer",
    explanation: { router: "least-loaded", version: "1.0.0" },
  });
  assertEquals(ids(heldBy(after.state, "alice")), ["chat:c1"]);
  assertEquals(queue.timers!(after.state), []);
  // A retried accept is answered as done; one with no offer behind it is refused.
  assertEquals(events(when(after, accept(chat("c1"))).decision), []);
  assertEquals(rejection(when(after, accept(chat("c2"))).decision).code, "no_offer");
  assertEquals(rejection(when(after, decline(chat("c1"))).decision).code, "no_offer");
});

Deno.test("queue: an offer holds its slot, so offers never overbook an agent", () => {
  const run = given([
    online("alice", { capacity: { chats: 1 } }),
    online("bob"),
    arrive(chat("c1")),
    arrive(chat("c2")),
    offered(assign(chat("c1"), "alice")),
  ]);
  const refused = rejection(when(run, offered(assign(chat("c2"), "alice"))).decision);
  assertEquals(refused.details, { reason: "no_room", agent: "alice" });
  assertEquals(
    routingInput(run.state, routable(run.state, run.now)[0], run.now).candidates.map((c) => c.id),
    ["bob"],
  );
});

Deno.test("queue: a declined offer goes to the next agent, never back to the one who declined", () => {
  const run = offeredToAlice();
  const after = given([decline(chat("c1"))], run);
  assertEquals(after.state.offers, {});
  assertEquals(routableIds(after), [{ item: "c1", candidates: ["bob"] }]);
  assertEquals(refusalReason(after, offered(assign(chat("c1"), "alice"))), "declined");
  assertObjectMatch(events(when(after, offered(assign(chat("c1"), "bob"))).decision)[0], {
    type: "offered",
    agent: "bob",
  });
});

Deno.test("queue: an offer nobody answers goes to the next agent and sets the silent one away", () => {
  const run = offeredToAlice();
  const [{ name, at: deadline }] = queue.timers!(run.state);
  const { decision, run: after } = when(run, at(deadline - T0, timer(name, deadline)));
  assertEquals(events(decision), [
    { type: "offer_expired", at: deadline, item: chat("c1"), agent: "alice" },
    { type: "agent_away", at: deadline, agent: "alice", reason: "offer_timeout" },
  ]);
  assertEquals(after.state.agents.alice.status, "away");
  assertEquals(routableIds(after), [{ item: "c1", candidates: ["bob"] }]);
  // The deadline is derived from state, so a replay after a failover fires it the same way.
  assertEquals(queue.timers!(replay(run.events)), [{ name, at: deadline }]);
  assertEquals(events(when(after, timer(name, deadline)).decision), []);
});

Deno.test("queue: a gone agent's offers are withdrawn at once", () => {
  const run = given([
    online("alice"),
    arrive(chat("c1")),
    offered(assign(chat("c1"), "alice")),
    gone("alice"),
  ]);
  assertEquals([run.state.offers, queue.timers!(run.state)], [{}, []]);
  assertEquals(rejection(when(run, accept(chat("c1"))).decision).code, "no_offer");
  const offline = given([
    online("alice"),
    offered(assign(chat("c1"), "alice")),
    { type: "availability", agent: "alice", status: "offline" },
  ], run);
  assertEquals(offline.state.offers, {});
});

Deno.test("queue: requirements relax as an item waits, and a timer fires at each step", () => {
  const item = {
    skills: { required: ["billing"], optional: ["german"] },
    language: "de",
    team: "support",
  };
  const run = given([
    online("bob", { teams: ["support"] }),
    online("erin", { teams: ["sales"] }),
    at(0, arrive(chat("c1"), item), relaxing),
  ]);
  assertEquals(routableIds(run), []);
  assertEquals(queue.timers!(run.state), [{ name: "relax:chat:c1", at: T0 + 30 * SEC }]);
  const work = { item: itemAt(run.state.items, "chat:c1")!, candidates: [] };
  assertEquals(routingInput(run.state, work, T0 + 31 * SEC).item.skills, {
    required: ["billing"],
    optional: [],
  });
  const first = when(run, at(30 * SEC, timer("relax:chat:c1", T0 + 30 * SEC)));
  assertEquals(events(first.decision), [{
    type: "relaxed",
    at: T0 + 30 * SEC,
    item: chat("c1"),
    step: 0,
  }]);
  assertEquals(queue.timers!(first.run.state), [{ name: "relax:chat:c1", at: T0 + 90 * SEC }]);
  assertEquals(routableIds(first.run), []);
  const second = when(first.run, at(90 * SEC, timer("relax:chat:c1", T0 + 90 * SEC)));
  assertObjectMatch(events(second.decision)[0], { type: "relaxed", step: 1 });
  assertEquals(queue.timers!(second.run.state), []);
  // Any agent of the team will do now, but not one of another team.
  assertEquals(routableIds(second.run), [{ item: "c1", candidates: ["bob"] }]);
  const input = routingInput(
    second.run.state,
    routable(second.run.state, second.run.now)[0],
    second.run.now,
  );
  assertObjectMatch(input.item, {
    skills: { required: [], optional: [] },
    language: null,
    team: "support",
  });
});

Deno.test("queue: a relaxation timer fired late applies every step passed", () => {
  const run = given([at(0, arrive(chat("c1")), relaxing)]);
  const late = when(run, at(100 * SEC, timer("relax:chat:c1", T0 + 30 * SEC)));
  assertObjectMatch(events(late.decision)[0], { type: "relaxed", step: 1 });
  assertEquals(queue.timers!(late.run.state), []);
});

Deno.test("queue: the router input carries the item, the previous agent and each candidate's load", () => {
  const run = given([
    online("alice", {
      skills: ["billing"],
      languages: ["en"],
      teams: ["support"],
      capacity: { chats: 2 },
    }),
    arrive(chat("c0")),
    assign(chat("c0"), "alice"),
    leave(ticket("t1"), "assigned", "alice"),
    at(
      4 * SEC,
      arrive(chat("c1"), {
        priority: "high",
        tags: ["vip"],
        previousAgent: "alice",
        skills: { optional: ["billing"] },
      }),
    ),
  ]);
  const input = routingInput(run.state, routable(run.state, T0 + 10 * SEC)[0], T0 + 10 * SEC);
  assertEquals(input, {
    item: {
      tenant: "acme",
      kind: "chat",
      id: "c1",
      priority: "high",
      tags: ["vip"],
      skills: { required: [], optional: ["billing"] },
      language: null,
      team: null,
      waitedMs: 6 * SEC,
      previousAgent: "alice",
    },
    candidates: [{
      id: "alice",
      status: "online",
      skills: ["billing"],
      languages: ["en"],
      teams: ["support"],
      load: { chats: 1, tickets: 1 },
      capacity: { chats: 2, tickets: 10 },
      lastAssignedAt: T0,
    }],
  });
});

Deno.test("queue: positions follow priority then wait, per kind; estimates follow the recent assignment rate", () => {
  const run = given([
    online("alice", { capacity: { chats: 100 } }),
    arrive(chat("a")),
    arrive(chat("b")),
    at(10 * SEC, arrive(chat("c1"))),
    at(11 * SEC, arrive(chat("c2"), { priority: "urgent" })),
    at(12 * SEC, arrive(ticket("t1"))),
  ]);
  const positions = (state: QueueState, now: number) =>
    queuePositions(state, now).map((p) => [p.item.id, p.position, p.estimatedWaitMs]);
  assertEquals(positions(run.state, run.now), [["c2", 1, null], ["a", 2, null], ["b", 3, null], [
    "c1",
    4,
    null,
  ], ["t1", 1, null]]);
  const moving = given([
    at(20 * SEC, assign(chat("a"), "alice")),
    at(30 * SEC, assign(chat("b"), "alice")),
  ], run);
  assertEquals(positions(moving.state, T0 + 30 * SEC), [["c2", 1, 10 * SEC], ["c1", 2, 20 * SEC], [
    "t1",
    1,
    null,
  ]]);
  // A queue that stops moving shows its estimates growing.
  assertEquals(positions(moving.state, T0 + 50 * SEC)[0], ["c2", 1, 30 * SEC]);
  assertEquals(
    queueView(moving.state, T0 + 30 * SEC).waiting.map((
      w,
    ) => [w.id, w.position, w.estimatedWaitMs]),
    [
      ["c2", 1, 10 * SEC],
      ["c1", 2, 20 * SEC],
      ["t1", 1, null],
    ],
  );
  // The rate window is bounded.
  const many = given(
    Array.from({ length: 30 }, (_, i) => [arrive(chat(`m${i}`)), assign(chat(`m${i}`), "alice")])
      .flat(),
    moving,
  );
  assertEquals(many.state.recentAssignments.chat.length, queueLimits.recentAssignments);
});

Deno.test("queue: replaying the events rebuilds the state, and evolve never mutates it", () => {
  const run = given([
    online("alice"),
    online("bob", { capacity: { chats: 1 } }),
    arrive(chat("c1")),
    arrive(ticket("t1")),
    offered(assign(chat("c1"), "alice")),
    decline(chat("c1")),
    assign(ticket("t1"), "bob"),
    gone("bob"),
    { type: "availability", agent: "alice", status: "away" },
  ]);
  assertEquals(replay(run.events), run.state);
});

// The property: whatever happens, routing never puts an agent over capacity,
// never gives an item to two agents, and an assigned item no longer waits.
const AGENTS = ["alice", "bob", "carol"];
const ITEMS: ItemRef[] = [
  ...["c1", "c2", "c3", "c4", "c5"].map(chat),
  ...["t1", "t2", "t3"].map(ticket),
];
const SKILLS = ["billing", "tech"];
type Step =
  | { do: "command"; command: Command }
  | { do: "route_first" }
  | { do: "answer_first"; accept: boolean }
  | { do: "tick"; ms: number };

const agentArb = fc.constantFrom(...AGENTS);
const itemArb = fc.constantFrom(...ITEMS);
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ do: fc.constant("route_first" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({ do: fc.constant("answer_first" as const), accept: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      do: fc.constant("tick" as const),
      ms: fc.integer({ min: 0, max: 60 * SEC }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.oneof(
      fc.record({
        type: fc.constant("arrive" as const),
        item: fc.tuple(itemArb, fc.oneof(fc.constant([]), fc.subarray(SKILLS))).map((
          [ref, required],
        ) => ({
          ...ref,
          skills: { required },
        })),
      }),
      fc.record({
        type: fc.constant("leave" as const),
        item: itemArb,
        reason: fc.constantFrom(...leaveReasons),
        agent: agentArb,
      }),
      fc.record({
        type: fc.constant("availability" as const),
        agent: agentArb,
        status: fc.constantFrom("online", "online", "away", "offline"),
        capacity: fc.record({
          chats: fc.integer({ min: 0, max: 3 }),
          tickets: fc.integer({ min: 0, max: 2 }),
        }),
        skills: fc.subarray(SKILLS),
      }),
      fc.record({ type: fc.constant("agent_gone" as const), agent: agentArb }),
      fc.record({ type: fc.constant("requeue" as const), item: itemArb }),
      fc.tuple(itemArb, agentArb).map(([item, agent]) => assign(item, agent)),
      fc.tuple(itemArb, agentArb).map(([item, agent]): Command =>
        accept(item, { sub: agent, role: "agent" })
      ),
      fc.tuple(itemArb, agentArb).map(([item, agent]): Command =>
        decline(item, { sub: agent, role: "agent" })
      ),
    ).map((command) => ({ do: "command" as const, command: command as Command })),
  },
);

function checkedRun(steps: Step[], settings: TenantSettings): void {
  let state = queue.initial(address);
  let now = T0;
  const log: QueueEvent[] = [];
  const apply = (command: Command) => {
    const decision = queue.decide(state, command, {
      now,
      actor: address,
      commandId: `c${log.length}`,
      tenant: settings,
    });
    if (!("events" in decision)) return;
    for (const event of decision.events) {
      state = checkedEvolve(state, event);
      log.push(event);
    }
  };
  for (const step of steps) {
    if (step.do === "command") apply(step.command);
    else if (step.do === "route_first") {
      const [work] = routable(state, now);
      if (work) apply(assign(work.item, work.candidates[0].id));
    } else if (step.do === "answer_first") {
      const [offer] = Object.values(state.offers);
      const by = { sub: offer?.agent ?? "", role: "agent" as const };
      if (offer) apply(step.accept ? accept(offer.item, by) : decline(offer.item, by));
    } else {
      now += step.ms;
      for (let due = dueTimer(state, now); due; due = dueTimer(state, now)) {
        apply(timer(due.name, due.at));
      }
    }
  }
  assertEquals(replay(log), state);
}

function dueTimer(state: QueueState, now: number) {
  return queue.timers!(state).filter((t) => t.at <= now).sort((a, b) => a.at - b.at)[0];
}

function checkedEvolve(before: QueueState, event: QueueEvent): QueueState {
  const after = queue.evolve(before, event);
  if (event.type === "offered" || (event.type === "assigned" && event.via === "router")) {
    const key = `${event.item.kind}:${event.item.id}`;
    assertEquals(itemAt(before.items, key)?.holder, null, "routed an item that was not waiting");
    assert(!before.offers[key], "routed an item with an offer out");
    assertEquals(before.agents[event.agent]?.status, "online", "routed to an agent not online");
    const kind = event.item.kind;
    const field = kind === "chat" ? "chats" : "tickets";
    const used = heldBy(after, event.agent).filter((ref) => ref.kind === kind).length +
      Object.values(after.offers).filter((o) => o.agent === event.agent && o.item.kind === kind)
        .length;
    assert(used <= after.agents[event.agent].capacity[field], `${event.agent} over capacity`);
  }
  if (event.type === "assigned") {
    assertEquals(itemAt(after.items, `${event.item.kind}:${event.item.id}`)!.holder, event.agent);
    assert(
      !routable(after, event.at).some((work) =>
        work.item.id === event.item.id && work.item.kind === event.item.kind
      ),
    );
  }
  for (const [key, offer] of Object.entries(after.offers)) {
    assertEquals(itemAt(after.items, key)?.holder, null, "an offer for an item that is held");
    assertEquals(
      after.agents[offer.agent]?.status === "offline",
      false,
      "an offer to a gone agent",
    );
  }
  return after;
}

Deno.test("queue: no sequence of commands and timers puts an agent over capacity or assigns an item twice", () => {
  fc.assert(
    fc.property(
      fc.array(stepArb, { minLength: 20, maxLength: 150, size: "max" }),
      fc.boolean(),
      (steps, offers) => {
        checkedRun(
          steps,
          offers
            ? withRouting({ offerSeconds: 20, relaxation: relaxing.routing!.relaxation })
            : relaxing,
        );
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("queue: an assignment is sent to the item's own actor, with what it replaces", () => {
  const effectsOf = (run: DeciderRun<QueueState, QueueEvent>, step: DeciderInput<QueueCommand>) => {
    let state = run.state;
    return events(when(run, step).decision).flatMap((event) => {
      state = queue.evolve(state, event);
      return queue.effects!(state, event, address);
    });
  };
  const run = given([online("alice"), online("bob"), arrive(chat("c1")), arrive(ticket("t1"))]);
  const [toSession] = effectsOf(run, assign(chat("c1"), "alice"));
  assertEquals(toSession.address, { kind: "session", tenant: "acme", id: "c1" });
  assertObjectMatch(toSession.command, {
    type: "route",
    by: { sub: systemSub },
    agent: "alice",
    replaces: null,
    explanation: {
      router: "least-loaded",
      version: "1.0.0",
      candidates: [{ id: "alice", score: 1 }],
    },
  });
  const [toTicket] = effectsOf(run, assign(ticket("t1"), "bob"));
  assertEquals(toTicket.address, { kind: "ticket", tenant: "acme", id: "t1" });
  // Taken back from a gone agent: the next assignment replaces it there too.
  const releaseAt = T0 + defaultRoutingSettings.releaseAfterSeconds * SEC;
  const released = given([
    assign(chat("c1"), "alice"),
    gone("alice"),
    at(releaseAt - T0, timer("release:alice", releaseAt)),
  ], run);
  const [again] = effectsOf(released, at(releaseAt - T0, assign(chat("c1"), "bob")));
  assertObjectMatch(again.command, { agent: "bob", replaces: "alice" });
  assert(again.commandId !== toSession.commandId);
});

Deno.test("queue: a returning visitor's chat arrives with whoever last held one of theirs", () => {
  const vera = (id: string, over: Partial<ItemInput> = {}) =>
    arrive(chat(id), { visitor: "vera", ...over });
  const run = given([
    online("alice"),
    online("bob"),
    vera("c1"),
    assign(chat("c1"), "alice"),
    leave(chat("c1"), "closed"),
    vera("c2"),
    arrive(chat("c3"), { visitor: "sam" }),
  ]);
  assertObjectMatch(itemAt(run.state.items, "chat:c2")!, {
    previousAgent: "alice",
    visitor: "vera",
  });
  assertEquals(itemAt(run.state.items, "chat:c3")!.previousAgent, null);
  assertEquals(
    routingInput(run.state, routable(run.state, run.now)[0], run.now).item.previousAgent,
    "alice",
  );
  // The last to hold it counts, by hand too; a chat naming its previous agent keeps it.
  const moved = given([
    leave(chat("c2"), "claimed", "bob"),
    leave(chat("c2"), "closed"),
    vera("c4"),
    vera("c5", { previousAgent: "carol" }),
  ], run);
  assertEquals(itemAt(moved.state.items, "chat:c4")!.previousAgent, "bob");
  assertEquals(itemAt(moved.state.items, "chat:c5")!.previousAgent, "carol");
  assertEquals(replay([...run.events, ...moved.events]), moved.state);
  // The sticky agent is no agent to replace: a hand claim that came first keeps the chat.
  const explanation = { router: "sticky", version: "builtin", rule: "r", candidates: [] };
  const assigned: QueueEvent = {
    type: "assigned",
    at: moved.now,
    item: chat("c4"),
    agent: "alice",
    via: "router",
    explanation: { ...explanation, reason: null },
  };
  const [route] = queue.effects!(queue.evolve(moved.state, assigned), assigned, address);
  assertObjectMatch(route.command, { agent: "alice", replaces: null });
  const refused = rejection(when(run, arrive(chat("c9"), { visitor: "" })).decision);
  assertEquals([refused.code, refused.field], ["validation", "item.visitor"]);
});

Deno.test("queue: the queue remembers the most recently served visitors, up to its limit", () => {
  const limit = queueLimits.rememberedVisitors;
  const served = Array.from({ length: limit + 1 }, (_, i) => [
    at(i, arrive(chat(`c${i}`), { visitor: `v${i}` })),
    at(i, assign(chat(`c${i}`), "alice")),
    at(i, leave(chat(`c${i}`), "closed")),
  ]).flat();
  const run = given([online("alice", { capacity: { chats: 1 } }), ...served]);
  const remembered = Object.keys(run.state.lastAgents ?? {});
  assertEquals(remembered.length, limit);
  assert(!remembered.includes("v0") && remembered.includes(`v${limit}`));
});

Deno.test("queue: an assignment that relaxation allowed names the step in its rule", () => {
  const run = given([
    online("bob"),
    online("erin", { skills: ["billing", "vip"] }),
    at(0, arrive(chat("c1"), { skills: { required: ["billing"] } }), relaxing),
    at(0, arrive(chat("c2"), { skills: { optional: ["vip"] } }), relaxing),
    at(0, arrive(chat("c3")), relaxing),
  ]);
  const ruleOf = (item: ItemRef, ms: number, agent = "bob") => {
    const [event] = events(when(run, at(ms, assign(item, agent))).decision);
    return (event as Extract<QueueEvent, { type: "assigned" }>).explanation.rule;
  };
  const rule = "least loaded, ties to the longest idle";
  assertEquals(refusalReason(run, at(89 * SEC, assign(chat("c1"), "bob"))), "requirements");
  assertEquals(
    ruleOf(chat("c1"), 90 * SEC),
    `${rule}; relaxed after 90000 ms: skills and language dropped`,
  );
  assertEquals(ruleOf(chat("c2"), 10 * SEC), rule);
  assertEquals(
    ruleOf(chat("c2"), 30 * SEC),
    `${rule}; relaxed after 30000 ms: optional skills dropped`,
  );
  // Nothing to relax, or an agent who fits it as it arrived: nothing said.
  assertEquals(ruleOf(chat("c3"), 100 * SEC), rule);
  assertEquals(ruleOf(chat("c1"), 100 * SEC, "erin"), rule);
  assertEquals(ruleOf(chat("c2"), 100 * SEC, "erin"), rule);
});
