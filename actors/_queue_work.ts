// Pure queries over a queue's state: the queue order, who has room, what an
// item requires after its wait, which work the router should be asked about,
// and the positions and estimated waits shown to visitors and agents.
import type { RelaxationStep } from "./decider.ts";
import { indexOf, inQueueOrder, itemKey, slot } from "./_queue_index.ts";
import { allItems } from "./_queue_items.ts";
import type {
  AgentState,
  ItemKind,
  ItemRef,
  QueueItem,
  QueuePosition,
  QueueState,
  RoutableWork,
  RoutingInput,
} from "./_queue_types.ts";

export { itemKey, slot } from "./_queue_index.ts";

const waitingLists = new WeakMap<QueueState, QueueItem[]>();

/** Waiting items in queue order: priority, then time waited, then key for a stable order. */
export function waitingInOrder(state: QueueState): readonly QueueItem[] {
  let list = waitingLists.get(state);
  if (!list) {
    const { waiting } = indexOf(state);
    list = [...inQueueOrder([waiting.chat, waiting.ticket])];
    waitingLists.set(state, list);
  }
  return list;
}

/** How many items wait, of both kinds. */
export function waitingCount(state: QueueState): number {
  const { waiting } = indexOf(state);
  return waiting.chat.length + waiting.ticket.length;
}

/** What each agent holds and has on offer, by kind: what its capacity is measured against. */
export interface Load {
  held: { chats: number; tickets: number };
  offered: { chats: number; tickets: number };
}

const loadMaps = new WeakMap<QueueState, ReadonlyMap<string, Load>>();

/** The load of every agent that holds or is offered something; treat as read-only. */
export function loads(state: QueueState): ReadonlyMap<string, Load> {
  const known = loadMaps.get(state);
  if (known) return known;
  const result = new Map<string, Load>();
  for (const [agent, held] of indexOf(state).held) {
    result.set(agent, { held: { ...held }, offered: { chats: 0, tickets: 0 } });
  }
  for (const offer of Object.values(state.offers)) {
    let load = result.get(offer.agent);
    if (!load) {
      load = { held: { chats: 0, tickets: 0 }, offered: { chats: 0, tickets: 0 } };
      result.set(offer.agent, load);
    }
    load.offered[slot(offer.item.kind)]++;
  }
  loadMaps.set(state, result);
  return result;
}

/** Whether `agent` may take one more item of `kind`: offers reserve their slot. */
export function hasRoom(agent: AgentState, load: Load | undefined, kind: ItemKind): boolean {
  const field = slot(kind);
  const used = (load?.held[field] ?? 0) + (load?.offered[field] ?? 0);
  return used < agent.capacity[field];
}

/** An item's requirements after waiting `waitedMs`: each relaxation step passed drops some. */
export function effectiveRequirements(
  item: QueueItem,
  waitedMs: number,
): { required: string[]; optional: string[]; language: string | null } {
  const passed = item.relaxation.filter((step) => step.afterMs <= waitedMs);
  if (passed.some((step) => step.drop === "required")) {
    return { required: [], optional: [], language: null };
  }
  return {
    required: item.skills.required,
    optional: passed.length > 0 ? [] : item.skills.optional,
    language: item.language,
  };
}

/**
 * The relaxation step that let `agent` take `item` after waiting `waitedMs`:
 * the one that dropped a required skill or the language the agent lacks,
 * else the first, which dropped optional skills it lacks; null when the
 * agent fits the item as it arrived.
 */
export function relaxationUsed(
  item: QueueItem,
  agent: AgentState,
  waitedMs: number,
): RelaxationStep | null {
  const passed = item.relaxation.filter((step) => step.afterMs <= waitedMs);
  const has = (skill: string) => agent.skills.includes(skill);
  const speaks = item.language === null || agent.languages.includes(item.language);
  if (!item.skills.required.every(has) || !speaks) {
    return passed.find((step) => step.drop === "required") ?? null;
  }
  return item.skills.optional.every(has) ? null : passed[0] ?? null;
}

/** Why `agent` may not take `item` now, or null when it may. */
export function unfitReason(
  item: QueueItem,
  agent: AgentState,
  load: Load | undefined,
  now: number,
): string | null {
  if (agent.status !== "online") return "agent_unavailable";
  if (!hasRoom(agent, load, item.kind)) return "no_room";
  if (item.passed.includes(agent.id)) return "declined";
  if (item.team !== null && !agent.teams.includes(item.team)) return "requirements";
  const wants = effectiveRequirements(item, now - item.arrivedAt);
  if (!wants.required.every((skill) => agent.skills.includes(skill))) return "requirements";
  if (wants.language !== null && !agent.languages.includes(wants.language)) return "requirements";
  return null;
}

/**
 * The work to ask the router about, in queue order: waiting items that are
 * not escalated and have no offer out, each with the agents that may take it
 * now. Items no agent may take are left out until something changes.
 */
export function routable(state: QueueState, now: number): RoutableWork[] {
  return [...routableWork(state, now)];
}

/**
 * {@linkcode routable}, found as it is taken, so a caller that wants the
 * first few pays for those. A kind no online agent has room for is skipped
 * whole, however many of it wait.
 */
export function* routableWork(state: QueueState, now: number): Generator<RoutableWork> {
  const load = loads(state);
  const agents = Object.values(state.agents).filter((agent) => agent.status === "online");
  const { waiting } = indexOf(state);
  const open = (["chat", "ticket"] as const)
    .filter((kind) => agents.some((agent) => hasRoom(agent, load.get(agent.id), kind)))
    .map((kind) => waiting[kind]);
  for (const item of inQueueOrder(open)) {
    if (item.escalated !== null || state.offers[itemKey(item)]) continue;
    const candidates = agents.filter((agent) =>
      unfitReason(item, agent, load.get(agent.id), now) === null
    );
    if (candidates.length > 0) yield { item, candidates };
  }
}

/**
 * What the router is given for one piece of routable work. A candidate's
 * load counts what it is offered as well as what it holds, so capacity minus
 * load is the room it has.
 */
export function routingInput(state: QueueState, work: RoutableWork, now: number): RoutingInput {
  const { item } = work;
  const wants = effectiveRequirements(item, now - item.arrivedAt);
  const load = loads(state);
  return {
    item: {
      tenant: state.tenant,
      kind: item.kind,
      id: item.id,
      priority: item.priority,
      tags: [...item.tags],
      skills: { required: [...wants.required], optional: [...wants.optional] },
      language: wants.language,
      team: item.team,
      waitedMs: now - item.arrivedAt,
      previousAgent: item.previousAgent,
    },
    candidates: work.candidates.map((agent) => {
      const used = load.get(agent.id);
      return {
        id: agent.id,
        status: agent.status,
        skills: [...agent.skills],
        languages: [...agent.languages],
        teams: [...agent.teams],
        load: {
          chats: (used?.held.chats ?? 0) + (used?.offered.chats ?? 0),
          tickets: (used?.held.tickets ?? 0) + (used?.offered.tickets ?? 0),
        },
        capacity: { ...agent.capacity },
        lastAssignedAt: agent.lastAssignedAt,
      };
    }),
  };
}

/**
 * Each waiting item's place in the queue of its kind (1 is next) and an
 * estimate of its wait: its position times the mean gap between the recent
 * assignments of that kind, counting the time since the last one, so a
 * queue that stopped moving shows its estimates growing. Null until two
 * assignments of the kind are known.
 */
export function queuePositions(state: QueueState, now: number): QueuePosition[] {
  const next = { chat: 0, ticket: 0 };
  return waitingInOrder(state).map((item) => positionOf(state, item, ++next[item.kind], now));
}

/** The first `limit` waiting items of `kind` with their positions and estimates. */
export function kindPositions(
  state: QueueState,
  kind: ItemKind,
  now: number,
  limit: number,
): QueuePosition[] {
  return indexOf(state).waiting[kind].slice(0, limit)
    .map((item, at) => positionOf(state, item, at + 1, now));
}

function positionOf(
  state: QueueState,
  item: QueueItem,
  position: number,
  now: number,
): QueuePosition {
  const times = state.recentAssignments[item.kind];
  const estimatedWaitMs = times.length < 2
    ? null
    : Math.round(position * Math.max(0, now - times[0]) / (times.length - 1));
  return { item: { kind: item.kind, id: item.id }, position, estimatedWaitMs };
}

/** The items an agent holds, in no particular order. */
export function heldBy(state: QueueState, agent: string): ItemRef[] {
  return allItems(state.items)
    .filter((item) => item.holder === agent)
    .map((item) => ({ kind: item.kind, id: item.id }));
}
