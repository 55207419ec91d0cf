// What a queue shows of itself: the summary every command answers with, in
// constant time, and the fuller view of waiting items and agents' loads that
// visitors and agents are shown, which costs a pass over the queue.
import type { Priority } from "./decider.ts";
import type { AgentStatus, ItemKind, PerKind, QueueState } from "./_queue_types.ts";
import { indexOf } from "./_queue_index.ts";
import { itemKey, loads, queuePositions, waitingInOrder } from "./_queue_work.ts";

/**
 * What a queue command answers with: how much waits and is out on offer, in
 * constant time, so a turn costs the same with ten items waiting or ten
 * thousand. The full picture is {@linkcode queueView}'s.
 */
export interface QueueSummary {
  waiting: PerKind;
  offers: number;
  agents: number;
  updatedAt: number;
}

/** What visitors and agents are shown of a queue; see {@linkcode queueView}. */
export interface QueueView {
  waiting: {
    kind: ItemKind;
    id: string;
    priority: Priority;
    waitedMs: number;
    position: number;
    estimatedWaitMs: number | null;
    offeredTo: string | null;
    escalated: string | null;
  }[];
  agents: {
    id: string;
    status: AgentStatus;
    capacity: PerKind;
    load: PerKind;
    /** What it holds beyond its capacity, by hand. */
    excess: PerKind;
    lastAssignedAt: number | null;
    releaseAt: number | null;
  }[];
}

/** What a queue command answers with; see {@linkcode QueueSummary}. */
export function queueSummary(state: QueueState): QueueSummary {
  const { waiting } = indexOf(state);
  return {
    waiting: { chats: waiting.chat.length, tickets: waiting.ticket.length },
    offers: Object.keys(state.offers).length,
    agents: Object.keys(state.agents).length,
    updatedAt: state.updatedAt,
  };
}

/**
 * What visitors and agents are shown of a queue at `now`: waiting items in
 * order with their positions and estimates, and each known agent's load,
 * with what it holds beyond its capacity as `excess`.
 */
export function queueView(state: QueueState, now: number): QueueView {
  const positions = queuePositions(state, now);
  const load = loads(state);
  return {
    waiting: waitingInOrder(state).map((item, at) => {
      const key = itemKey(item);
      const { position, estimatedWaitMs } = positions[at];
      return {
        kind: item.kind,
        id: item.id,
        priority: item.priority,
        waitedMs: now - item.arrivedAt,
        position,
        estimatedWaitMs,
        offeredTo: state.offers[key]?.agent ?? null,
        escalated: item.escalated,
      };
    }),
    agents: Object.values(state.agents).map((agent) => {
      const held = load.get(agent.id)?.held ?? { chats: 0, tickets: 0 };
      return {
        id: agent.id,
        status: agent.status,
        capacity: { ...agent.capacity },
        load: { ...held },
        excess: {
          chats: Math.max(0, held.chats - agent.capacity.chats),
          tickets: Math.max(0, held.tickets - agent.capacity.tickets),
        },
        lastAssignedAt: agent.lastAssignedAt,
        releaseAt: agent.releaseAt,
      };
    }),
  };
}
