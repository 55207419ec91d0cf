// The node's routing of queue states, without processes: a real queue
// decider behind a host-like dispatcher, and the routers of plugins/.
import { assert, assertEquals } from "@std/assert";
import { defaultRoutingSettings, defaultTenantSettings } from "../actors/decider.ts";
import type { DecideContext, TenantSettings } from "../actors/decider.ts";
import {
  allItems,
  itemAt,
  itemKey,
  queueDecider,
  type QueueEvent,
  type QueueState,
} from "../actors/queue.ts";
import { PluginHost } from "../plugins/host/plugin_host.ts";
import { QueueRouter } from "../cluster/runtime/queue_router.ts";
import { QueueBacklog } from "../cluster/runtime/queue_backlog.ts";
import type { TicketCursor, UnassignedTicket } from "../cluster/store/event_store.ts";
import { Router } from "../cluster/runtime/routing.ts";
import type { ActorRequest, ActorResponse } from "../cluster/protocol.ts";

const address = { kind: "queue", tenant: "acme", id: "main" };
const settings = (routing: Partial<TenantSettings["routing"]> = {}): TenantSettings => ({
  ...defaultTenantSettings,
  routing: { ...defaultRoutingSettings, ...routing },
});

/** One queue actor in memory: commands decided in order, each state observed after its turn. */
function memoryQueue(tenant: TenantSettings, observe: (state: QueueState) => void) {
  let state = queueDecider.initial(address);
  const log: QueueEvent[] = [];
  return {
    log,
    get state() {
      return state;
    },
    dispatch(request: ActorRequest): Promise<ActorResponse> {
      const ctx: DecideContext = {
        now: Date.now(),
        actor: address,
        commandId: request.commandId,
        tenant,
      };
      const decision = queueDecider.decide(state, request.command as never, ctx);
      if ("reject" in decision) {
        return Promise.resolve({ ok: false, error: { ...decision.reject, retryable: false } });
      }
      for (const event of decision.events) state = queueDecider.evolve(state, event);
      log.push(...decision.events);
      if (decision.events.length > 0) queueMicrotask(() => observe(state));
      return Promise.resolve({ ok: true, reply: null, seq: log.length });
    },
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Sends commands to `queue` as a caller would, each with a fresh id. */
function sender(queue: { dispatch: (request: ActorRequest) => Promise<ActorResponse> }) {
  return (command: Record<string, unknown>) =>
    queue.dispatch({
      address,
      op: "command",
      command: command as ActorRequest["command"],
      commandId: crypto.randomUUID(),
      deadline: Date.now() + 1000,
    });
}

function setup(tenant: TenantSettings, router = new Router(new PluginHost())) {
  const queue = memoryQueue(tenant, (state) => queues.observe(address, state));
  const queues: QueueRouter = new QueueRouter({
    router,
    tenantSettings: () => Promise.resolve(tenant),
    deliver: (request) => queue.dispatch(request),
  });
  return { queue, queues, send: sender(queue) };
}

Deno.test("queue router: arrivals go to agents with room at once; freed slots refill, never past capacity", async () => {
  const { queue, send } = setup(settings({ capacity: { chats: 2, tickets: 0 } }));
  await send({ type: "availability", agent: "alice", status: "online" });
  await send({ type: "availability", agent: "bob", status: "online" });
  for (let i = 0; i < 6; i++) await send({ type: "arrive", item: { kind: "chat", id: `c${i}` } });
  await settle();
  const assigned = () => queue.log.filter((e) => e.type === "assigned");
  assertEquals(assigned().length, 4);
  assertEquals(allItems(queue.state.items).filter((i) => i.holder === "alice").length, 2);
  const first = assigned()[0] as Extract<QueueEvent, { type: "assigned" }>;
  assertEquals(first.explanation.router, "least-loaded");
  assert(first.explanation.candidates.length > 0);
  await send({ type: "leave", item: first.item, reason: "closed" });
  await settle();
  assertEquals(assigned().length, 5, "the freed slot is refilled without a sweep");
});

Deno.test("queue router: an answer that changes nothing is not asked again until the state moves", async () => {
  let calls = 0;
  const router = {
    route: () => {
      calls++;
      return Promise.resolve({
        decision: { wait: { reason: "not now" } },
        router: { name: "waiter", version: "1" },
      });
    },
  } as unknown as Router;
  const { send } = setup(settings(), router);
  await send({ type: "availability", agent: "alice", status: "online" });
  await send({ type: "arrive", item: { kind: "chat", id: "c1" } });
  await settle();
  assertEquals(calls, 1);
  await send({ type: "availability", agent: "bob", status: "online" });
  await settle();
  assertEquals(calls, 2);
});

Deno.test("router: a built-in whose options are wrong, or a plugin not loaded, falls back to least-loaded", async () => {
  const plugins = new PluginHost();
  const router = new Router(plugins);
  const request = {
    item: {
      tenant: "acme",
      kind: "chat" as const,
      id: "c1",
      priority: 0,
      tags: [],
      requiredSkills: [],
      optionalSkills: [],
      waitedMs: 0,
    },
    candidates: [{
      id: "alice",
      status: "online" as const,
      skills: [],
      languages: [],
      teams: [],
      load: { chat: 0, ticket: 0 },
      capacity: { chat: 1, ticket: 1 },
      lastAssignedAt: null,
      idleSinceMs: 0,
    }],
  };
  const sticky = await router.route(
    "acme",
    { router: "sticky", routerOptions: { fallback: "x" } },
    request,
  );
  assertEquals(sticky.router.name, "least-loaded");
  assertEquals(sticky.fallback?.cause, "error");
  assertEquals((sticky.decision as { assign: string }).assign, "alice");
  const missing = await router.route("acme", { router: "vip-first" }, request);
  assertEquals(missing.fallback?.cause, "not-loaded");
  const builtin = await router.route("acme", {}, request);
  assertEquals(builtin.router, { name: "least-loaded", version: "builtin" });
  assertEquals(builtin.fallback, undefined);
  await plugins.close();
});

/**
 * A queue of 2 with its backlog refilled from `rows` (the ticket projection
 * as the store would answer it); `duringSearch` runs inside each search,
 * after the rows are read, as a turn racing the search would.
 */
function backlogSetup() {
  const tenant = settings({ maxWaiting: 2 });
  const rows: UnassignedTicket[] = [];
  const hooks = { duringSearch: async () => {} };
  const queue = memoryQueue(tenant, (state) => backlog.observe(address, state));
  const backlog: QueueBacklog = new QueueBacklog({
    store: {
      async unassignedTickets(_tenant: string, limit: number, after?: TicketCursor) {
        const found = rows.filter((row) =>
          !after || row.createdAt > after.createdAt ||
          (row.createdAt === after.createdAt && row.id > after.id)
        ).slice(0, limit);
        await hooks.duringSearch();
        return found;
      },
    },
    tenantSettings: () => Promise.resolve(tenant),
    deliver: (request) => queue.dispatch(request),
  });
  let created = 0;
  const command = sender(queue);
  /** A new unassigned ticket: its row first, then its arrival, as the outbox does. */
  const create = (id: string) => {
    rows.push({
      id,
      createdAt: ++created,
      doc: { id, priority: "high", tags: ["vip"], team: null },
    });
    return command({ type: "arrive", item: { kind: "ticket", id } });
  };
  const close = (id: string) => {
    rows.splice(rows.findIndex((row) => row.id === id), 1);
    return command({ type: "leave", item: { kind: "ticket", id }, reason: "closed" });
  };
  const waiting = () => allItems(queue.state.items).map(itemKey).sort();
  return { queue, hooks, create, close, waiting };
}

Deno.test("queue backlog: tickets past the cap come back oldest first as room frees, with their data; an empty search drains it", async () => {
  const { queue, create, close, waiting } = backlogSetup();
  for (const id of ["t1", "t2", "t3", "t4", "t5"]) assert((await create(id)).ok);
  assertEquals(waiting(), ["ticket:t1", "ticket:t2"]);
  assertEquals(queue.state.backlog, { open: true, generation: 3 });
  // At the low-water mark (1 of 2) nothing comes back yet.
  await close("t1");
  await settle();
  assertEquals(waiting(), ["ticket:t2"]);
  await close("t2");
  await settle();
  assertEquals(waiting(), ["ticket:t3", "ticket:t4"]);
  assertEquals(itemAt(queue.state.items, "ticket:t3")!.priority, "high");
  assertEquals(itemAt(queue.state.items, "ticket:t3")!.tags, ["vip"]);
  assert(queue.state.backlog?.open);
  for (const id of ["t3", "t4"]) await close(id);
  await settle();
  // t5 alone: the search came back short, so the backlog is drained.
  assertEquals(waiting(), ["ticket:t5"]);
  assertEquals(queue.state.backlog, { open: false, generation: 3 });
  assertEquals(queue.log.filter((e) => e.type === "backlog_drained").length, 1);
});

Deno.test("queue backlog: a ticket overflowing while a search runs keeps the backlog open", async () => {
  const { queue, hooks, create, close, waiting } = backlogSetup();
  for (const id of ["t1", "t2", "t3", "t4"]) await create(id);
  for (const id of ["t1", "t2"]) await close(id);
  await settle();
  assertEquals(waiting(), ["ticket:t3", "ticket:t4"]);
  await close("t3");
  // The next search reads nothing, while t5 and t6 fill the queue and t7 overflows.
  hooks.duringSearch = async () => {
    hooks.duringSearch = async () => {};
    for (const id of ["t5", "t6", "t7"]) await create(id);
  };
  await close("t4");
  await settle();
  assertEquals(waiting(), ["ticket:t5", "ticket:t6"]);
  // Its drain named the generation before t7's overflow, so the queue kept the flag.
  assertEquals(queue.state.backlog, { open: true, generation: 3 });
  assertEquals(queue.log.filter((e) => e.type === "backlog_drained"), []);
  for (const id of ["t5", "t6"]) await close(id);
  await settle();
  assertEquals(waiting(), ["ticket:t7"]);
});
