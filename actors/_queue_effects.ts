// What sessions, tickets and the queue tell each other through the outbox:
// items arriving and leaving the tenant's queue, and the queue's assignments.
import type { ActorAddress, Caller, Effect } from "./decider.ts";
import { systemSub } from "./decider.ts";
import { itemKey } from "./_queue_index.ts";
import { itemAt } from "./_queue_items.ts";
import { forbidden, isRefusal, type Refusal, text } from "./_validation.ts";
import type { Explanation, ItemRef, QueueCommand, QueueEvent, QueueState } from "./_queue_types.ts";

/** The id of a tenant's queue actor. */
export const tenantQueueId = "main";

/** Who the queue's assignments come from. */
export const routingCaller: Caller = { sub: systemSub, role: "admin" };

/** The command a session or ticket takes a queue assignment with, like a claim. */
export interface RouteCommand {
  type: "route";
  by: Caller;
  agent: string;
  explanation: Explanation;
  /** The agent the queue took the item back from, whom this assignment replaces. */
  replaces: string | null;
}

/** The assignment a session or ticket records when it takes a `route`. */
export interface RoutedAssignment {
  type: "assigned";
  by: string;
  at: number;
  agent: string;
  previous: string | null;
  via: "route";
  explanation: Explanation;
}

/** What a session or ticket answers a `route` with; see {@linkcode routeOutcome}. */
export type RouteOutcome =
  | { assigned: RoutedAssignment }
  | { events: [] | [{ type: "route_declined"; by: string; at: number; agent: string }] }
  | Refusal;

/**
 * How an item with `current` agent takes a `route` at `at`: it is
 * `assigned` (the caller adds its own events); declined when the item is
 * no longer open (its arrival reached the queue late), an event whose
 * effect tells the queue; nothing when it is someone else's (a claim by
 * hand came first, and told the queue) or already this agent's; refused for
 * anyone but the queue. Only the agent the queue took the item back from is
 * replaced.
 */
export function routeOutcome(
  current: string | null,
  cmd: RouteCommand,
  limits: { idChars: number; open: boolean; at: number },
): RouteOutcome {
  if (cmd.by?.sub !== systemSub) return forbidden("only the queue routes");
  const agent = text(cmd.agent, "agent", limits.idChars, true);
  if (isRefusal(agent)) return agent;
  const { at } = limits;
  if (!limits.open) return { events: [{ type: "route_declined", by: systemSub, at, agent }] };
  if (agent === current || (current !== null && current !== cmd.replaces)) return { events: [] };
  return {
    assigned: {
      type: "assigned",
      by: systemSub,
      at,
      agent,
      previous: current,
      via: "route",
      explanation: cmd.explanation,
    },
  };
}

/** A command to the tenant's queue, its id derived from the sending event. */
export function toQueue(
  from: ActorAddress,
  command: QueueCommand,
  tag: string,
): Effect {
  return {
    address: { kind: "queue", tenant: from.tenant, id: tenantQueueId },
    command,
    commandId: `s:queue:${from.kind}:${from.id}:${tag}`,
  };
}

/** The item's own actor takes an assignment of the queue. */
export function queueEffects(
  state: QueueState,
  event: QueueEvent,
  address: ActorAddress,
): Effect[] {
  if (event.type !== "assigned") return [];
  const { item, agent, explanation } = event;
  const known = itemAt(state.items, itemKey(item));
  // Older states said whom an item was taken back from in `previousAgent`.
  const replaces =
    (known?.releasedFrom !== undefined ? known.releasedFrom : known?.previousAgent) ??
      null;
  const command: RouteCommand = { type: "route", by: routingCaller, agent, explanation, replaces };
  return [{
    address: {
      kind: item.kind === "chat" ? "session" : "ticket",
      tenant: address.tenant,
      id: item.id,
    },
    command: { ...command },
    commandId: `s:routed:${item.kind}:${item.id}:${agent}:${event.at}`,
  }];
}

/** A chat's or ticket's reference in its queue. */
export function itemOf(address: ActorAddress): ItemRef {
  return { kind: address.kind === "session" ? "chat" : "ticket", id: address.id };
}
