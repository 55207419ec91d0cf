// How the queue's events fold into its state. Pure and total: every event
// copies what it changes, so earlier states stay as they were.
import type { AgentState, ItemRef, QueueEvent, QueueItem, QueueState } from "./_queue_types.ts";
import { queueLimits } from "./_queue_types.ts";
import { carryIndex, itemKey } from "./_queue_index.ts";
import { itemAt, withItemAt, withoutItemAt } from "./_queue_items.ts";
import { copyData } from "./_copy.ts";

/** Fold one queue event into the state; the index of the state comes along (see `_queue_index.ts`). */
export function evolve(state: QueueState, event: QueueEvent): QueueState {
  const next = fold(state, event);
  carryIndex(state, next, touchedKeys(event));
  return next;
}

// The items an event may change: its own, or those released with an agent.
function touchedKeys(event: QueueEvent): string[] {
  if (event.type === "released") return event.items.map(itemKey);
  if (!("item" in event)) return [];
  return [itemKey(event.item)];
}

function fold(state: QueueState, event: QueueEvent): QueueState {
  const next = { ...state, updatedAt: event.at };
  switch (event.type) {
    case "arrived":
      return withItem(next, { ...copyData(event.item), holder: null });
    case "left":
      return event.agent === null
        ? withoutItem(next, event.item)
        : handedTo(next, event.item, event.agent, event.at);
    case "requeued": {
      const requeued = patchItem(next, event.item, {
        holder: null,
        team: event.team,
        arrivedAt: event.at,
        relaxed: 0,
        passed: [],
        escalated: null,
        previousAgent: event.from ?? itemAt(state.items, itemKey(event.item))?.previousAgent ??
          null,
        releasedFrom: event.from,
      });
      return withoutOffer(requeued, event.item);
    }
    case "availability_changed": {
      const { type: _, at: __, ...profile } = event;
      const agent: AgentState = {
        ...copyData(profile),
        lastAssignedAt: state.agents[event.id]?.lastAssignedAt ?? null,
      };
      const withAgent = { ...next, agents: { ...next.agents, [event.id]: agent } };
      return event.status === "offline" ? withoutOffersTo(withAgent, event.id) : withAgent;
    }
    case "agent_gone":
      return withoutOffersTo(
        withAgent(next, event.agent, { status: "offline", releaseAt: event.releaseAt }),
        event.agent,
      );
    case "agent_away":
      return withAgent(next, event.agent, { status: "away" });
    case "offered": {
      const { item, agent, deadline, explanation } = copyData(event);
      return {
        ...next,
        offers: { ...next.offers, [itemKey(item)]: { item, agent, deadline, explanation } },
      };
    }
    case "assigned":
      return handedTo(next, event.item, event.agent, event.at);
    case "declined":
    case "offer_expired": {
      const cleared = withoutOffer(next, event.item);
      const item = itemAt(cleared.items, itemKey(event.item));
      if (!item) return cleared;
      const passed = [...item.passed.filter((id) => id !== event.agent), event.agent];
      return withItem(cleared, { ...item, passed: passed.slice(-queueLimits.passed) });
    }
    case "escalated":
      return patchItem(next, event.item, { escalated: event.reason });
    case "relaxed":
      return patchItem(next, event.item, { relaxed: event.step + 1 });
    case "backlogged":
      return { ...next, backlog: { open: true, generation: (state.backlog?.generation ?? 0) + 1 } };
    case "backlog_drained":
      return { ...next, backlog: { open: false, generation: event.generation } };
    case "released": {
      let released = withAgent(next, event.agent, { releaseAt: null });
      for (const ref of event.items) {
        released = patchItem(released, ref, {
          holder: null,
          previousAgent: event.agent,
          releasedFrom: event.agent,
        });
      }
      return released;
    }
    default:
      // Events of a newer version replay as no-ops rather than breaking the fold.
      return state;
  }
}

function withItem(state: QueueState, item: QueueItem): QueueState {
  return { ...state, items: withItemAt(state.items, itemKey(item), item) };
}

function patchItem(state: QueueState, ref: ItemRef, patch: Partial<QueueItem>): QueueState {
  const item = itemAt(state.items, itemKey(ref));
  return item ? withItem(state, { ...item, ...patch }) : state;
}

function withoutItem(state: QueueState, ref: ItemRef): QueueState {
  return withoutOffer({ ...state, items: withoutItemAt(state.items, itemKey(ref)) }, ref);
}

function withoutOffer(state: QueueState, ref: ItemRef): QueueState {
  const key = itemKey(ref);
  if (!state.offers[key]) return state;
  const { [key]: _, ...offers } = state.offers;
  return { ...state, offers };
}

function withoutOffersTo(state: QueueState, agent: string): QueueState {
  const offers = Object.fromEntries(
    Object.entries(state.offers).filter(([, offer]) => offer.agent !== agent),
  );
  return { ...state, offers };
}

function withAgent(state: QueueState, id: string, patch: Partial<AgentState>): QueueState {
  const agent = state.agents[id];
  return agent ? { ...state, agents: { ...state.agents, [id]: { ...agent, ...patch } } } : state;
}

/**
 * The item is now `agent`'s, whoever held it or was offered it before. An
 * item the queue never saw (created already assigned) is recorded bare, so
 * its load counts and it can be released.
 */
function handedTo(state: QueueState, ref: ItemRef, agent: string, at: number): QueueState {
  const known = itemAt(state.items, itemKey(ref));
  const item: QueueItem = known ?? {
    kind: ref.kind,
    id: ref.id,
    priority: "normal",
    tags: [],
    skills: { required: [], optional: [] },
    language: null,
    team: null,
    arrivedAt: at,
    previousAgent: null,
    relaxation: [],
    relaxed: 0,
    passed: [],
    escalated: null,
    holder: null,
  };
  let next = withoutOffer(withItem(state, { ...item, holder: agent }), ref);
  if (item.holder === null && known) {
    const times = [...next.recentAssignments[ref.kind], at].slice(-queueLimits.recentAssignments);
    next = { ...next, recentAssignments: { ...next.recentAssignments, [ref.kind]: times } };
  }
  if (item.visitor) next = servedVisitor(next, item.visitor, agent, at);
  return withAgent(next, agent, { lastAssignedAt: at });
}

/** `agent` is now the last to serve `visitor`; past the limit the longest unserved is forgotten. */
function servedVisitor(state: QueueState, visitor: string, agent: string, at: number): QueueState {
  const lastAgents = { ...state.lastAgents, [visitor]: { agent, at } };
  const visitors = Object.keys(lastAgents);
  if (visitors.length > queueLimits.rememberedVisitors) {
    const oldest = visitors.reduce((a, b) => lastAgents[a].at <= lastAgents[b].at ? a : b);
    delete lastAgents[oldest];
  }
  return { ...state, lastAgents };
}
