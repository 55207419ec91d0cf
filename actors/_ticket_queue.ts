// What the tenant's queue learns of a ticket: it waits while it is open
// with no assignee, and is an agent's while assigned.
import type { ActorAddress, Effect } from "./decider.ts";
import type { TicketEvent, TicketState } from "./ticket.ts";
import { itemOf, toQueue } from "./_queue_effects.ts";

const ENDED: ReadonlySet<string> = new Set(["resolved", "closed"]);

/** The queue commands a ticket event sends, given the state it leads to. */
export function ticketQueueEffects(
  state: TicketState,
  event: TicketEvent,
  address: ActorAddress,
): Effect[] {
  const item = itemOf(address);
  const tag = `${event.type}:${state.revision ?? 0}`;
  const arrive = () =>
    toQueue(address, {
      type: "arrive",
      item: { ...item, priority: state.priority, tags: state.tags, team: state.team },
    }, tag);
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
