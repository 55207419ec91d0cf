// What the tenant's queue learns of a ticket: it waits while it is open
// with no assignee, and is an agent's while assigned.
import type { ActorAddress, Effect, Priority } from "./decider.ts";
import type { ItemInput } from "./queue.ts";
import type { TicketEvent, TicketState } from "./_ticket_types.ts";
import { itemOf, toQueue } from "./_queue_effects.ts";

/**
 * What a ticket arrives in the queue with: from its state, or from its
 * projection row when the runtime brings it back from the backlog.
 */
export function ticketItem(
  id: string,
  ticket: { priority: Priority; tags: string[]; team: string | null },
): ItemInput {
  return { kind: "ticket", id, priority: ticket.priority, tags: ticket.tags, team: ticket.team };
}

const ENDED: ReadonlySet<string> = new Set(["resolved", "closed"]);

/** The queue commands a ticket event sends, given the state it leads to. */
export function ticketQueueEffects(
  state: TicketState,
  event: TicketEvent,
  address: ActorAddress,
): Effect[] {
  const item = itemOf(address);
  const tag = `${event.type}:${state.revision ?? 0}`;
  const arrive = () => toQueue(address, { type: "arrive", item: ticketItem(item.id, state) }, tag);
  switch (event.type) {
    case "created":
      return [arrive()];
    case "assigned": {
      if (event.via === "route") return [];
      const reason = event.via === "claim" ? "claimed" : "assigned";
      return [toQueue(address, { type: "leave", item, reason, agent: event.agent }, tag)];
    }
    case "transferred":
      return "agent" in event.to
        ? [toQueue(address, {
          type: "leave",
          item,
          reason: "transferred",
          agent: event.to.agent,
        }, tag)]
        : [toQueue(address, { type: "requeue", item, team: event.to.team }, tag)];
    case "unassigned":
      return [toQueue(address, { type: "requeue", item }, tag)];
    case "route_declined":
      return [
        toQueue(address, {
          type: "leave",
          item,
          reason: state.status === "resolved" ? "resolved" : "closed",
        }, tag),
      ];
    case "status_changed":
      if (ENDED.has(event.to)) {
        const reason = event.to === "resolved" ? "resolved" : "closed";
        return [toQueue(address, { type: "leave", item, reason }, tag)];
      }
      if (!ENDED.has(event.from)) return [];
      // Reopened: back in the queue, or its assignee's again.
      return state.assignee === null ? [arrive()] : [toQueue(address, {
        type: "leave",
        item,
        reason: "assigned",
        agent: state.assignee,
      }, tag)];
    default:
      return [];
  }
}
