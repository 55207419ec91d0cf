// What a conversation's events ask of other actors: the queue's arrivals and
// departures, and the ticket a chat becomes (with its transcript).
import { type ActorAddress, type Effect, systemSub } from "./decider.ts";
import { type TicketCommand, ticketLimits } from "./ticket.ts";
import { itemOf, toQueue } from "./_queue_effects.ts";
import { chatArrival } from "./_session_routing.ts";
import type { SessionEvent, SessionState } from "./_session_types.ts";
import { clip, timestamp, visitorName } from "./_session_evolve.ts";

const TRIMMED_NOTE = "(earlier messages omitted)";

/** What the tenant's queue learns of the conversation, and the ticket a conversion creates. */
export function effects(state: SessionState, event: SessionEvent, address: ActorAddress): Effect[] {
  if (event.type !== "converted") return queueEffects(state, event, address);
  const command: TicketCommand = {
    type: "create",
    by: { sub: systemSub, role: "agent" },
    subject: clip(
      state.subject ?? `Chat with ${visitorName(state.visitor)}`,
      ticketLimits.subjectChars,
    ),
    body: transcript(state),
    requester: state.visitor.id,
    tags: ["chat"],
  };
  return [{
    address: { kind: "ticket", tenant: address.tenant, id: event.ticketId },
    command,
    commandId: `s:convert:${address.id}`,
  }];
}

// Opened → waits in the queue; claimed or transferred by hand → the agent's
// (routed: the queue's own doing); closed → gone. The message number makes
// each command's id unique, as every change is followed by a message.
function queueEffects(state: SessionState, event: SessionEvent, address: ActorAddress): Effect[] {
  const item = itemOf(address);
  if (event.type === "opened" && event.queued) {
    const arrival = chatArrival(item, event.routing, event.visitor.id);
    return [toQueue(address, { type: "arrive", item: arrival }, "arrive")];
  }
  if (event.type === "assigned" && event.via !== "route") {
    const reason = event.via === "claim" ? "claimed" : "transferred";
    const command = { type: "leave" as const, item, reason, agent: event.agent } as const;
    return [toQueue(address, command, `${reason}:${state.seq}`)];
  }
  if (event.type === "closed") {
    const reason = event.reason === "converted" ? "converted" : "closed";
    return [toQueue(address, { type: "leave", item, reason }, "closed")];
  }
  if (event.type === "route_declined") {
    const tag = `declined:${event.agent}:${event.at}`;
    return [toQueue(address, { type: "leave", item, reason: "closed" }, tag)];
  }
  return [];
}

/** The ticket body: who the visitor is, then the conversation's text messages. */
function transcript(state: SessionState): string {
  const { visitor } = state;
  const contact = [
    visitor.name,
    visitor.email === null ? null : `<${visitor.email}>`,
    `(visitor ${visitor.id}, ${visitor.verified ? "verified" : "unverified"})`,
  ].filter((part) => part !== null).join(" ");
  const heading = [
    `Chat ${state.id} started ${timestamp(state.createdAt)} by ${contact}.`,
    ...(state.subject === null ? [] : [`Subject: ${state.subject}`]),
  ];
  const lines = state.transcript.length === 0
    ? ["No messages were sent."]
    : [...(state.transcriptTrimmed ? [TRIMMED_NOTE] : []), ...state.transcript];
  return [...heading, "", ...lines].join("\n");
}
