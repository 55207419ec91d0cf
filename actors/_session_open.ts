// How a conversation opens: the visitor it is for, checked against the
// caller, and its handing on as a ticket when no agent can take it.
import { type Caller, type DecideContext, reject, systemSub } from "./decider.ts";
import { chatRouting } from "./_session_routing.ts";
import {
  forbidden,
  isRefusal,
  isVisitor,
  optionalText,
  type Refusal,
  text,
  validation,
} from "./_validation.ts";
import type {
  CommandOf,
  ConversionReason,
  Outcome,
  SessionEvent,
  SessionState,
  Visitor,
} from "./_session_types.ts";
import { sessionLimits } from "./_session_types.ts";
import { chatTicketId, isAnonymousVisitorId } from "./_session_ids.ts";
import { type Messages, messages } from "./_session_messages.ts";

/** Open the conversation for its visitor; with no agent online, hand it on as a ticket. */
export function open(state: SessionState, cmd: CommandOf<"open">, ctx: DecideContext): Outcome {
  if (state.status !== "none") {
    return state.openCommandId === ctx.commandId
      ? { events: [] }
      : reject("already_exists", `conversation ${state.id} already exists`);
  }
  const visitor = visitorOf(cmd.visitor);
  if (isRefusal(visitor)) return visitor;
  const { by } = cmd;
  if (!isVisitor(by)) return forbidden("only visitors open conversations");
  if (visitor.verified === isAnonymousVisitorId(visitor.id)) {
    return validation("visitor.verified", "a visitor is verified exactly when its id is not anon:");
  }
  if (!isOwnVisitor(by, visitor)) {
    return forbidden("visitors open conversations for themselves only");
  }
  if (!Number.isSafeInteger(cmd.agentsOnline) || cmd.agentsOnline < 0) {
    return validation("agentsOnline", "agentsOnline must be a whole number, 0 or more");
  }
  const subject = optionalText(cmd.subject, "subject", sessionLimits.subjectChars, true);
  if (isRefusal(subject)) return subject;
  const routing = chatRouting(cmd);
  if (isRefusal(routing)) return routing;
  const { waitLimitMinutes, idleCloseMinutes } = ctx.tenant.chat;
  const opened: SessionEvent = {
    type: "opened",
    by: by.sub,
    at: ctx.now,
    commandId: ctx.commandId,
    visitor,
    subject,
    ...(routing && { routing }),
    limits: { waitLimitMinutes, idleCloseMinutes },
    queued: cmd.agentsOnline > 0,
  };
  const message = messages(state, ctx);
  const events: SessionEvent[] = [opened, message.system("Conversation started")];
  if (cmd.agentsOnline === 0) {
    events.push(...conversion(state.id, visitor, "no_agent_online", message, ctx));
  }
  return { events };
}

// The caller is the conversation's visitor when the ids match and the
// conversation was opened under the same kind of identity: an unverified id
// outside the anonymous namespace (opened before visitors had anonymous ids)
// is nobody's, so a customer is never handed what someone typing their id wrote.
export function isOwnVisitor(by: Caller, visitor: Visitor): boolean {
  return isVisitor(by) && by.sub === visitor.id &&
    visitor.verified !== isAnonymousVisitorId(visitor.id);
}

function visitorOf(value: unknown): Visitor | Refusal {
  if (typeof value !== "object" || value === null) {
    return validation("visitor", "visitor must be an object");
  }
  const raw = value as Record<string, unknown>;
  const id = text(raw.id, "visitor.id", sessionLimits.idChars, true);
  if (isRefusal(id)) return id;
  const name = optionalText(raw.name, "visitor.name", sessionLimits.nameChars, true);
  if (isRefusal(name)) return name;
  const email = optionalText(raw.email, "visitor.email", sessionLimits.emailChars, true);
  if (isRefusal(email)) return email;
  if (email !== null && !/^[^\s@]+@[^\s@]+$/.test(email)) {
    return validation("visitor.email", "visitor.email must be an email address");
  }
  if (typeof raw.verified !== "boolean") {
    return validation("visitor.verified", "visitor.verified must be a boolean");
  }
  return { id, name, email, verified: raw.verified };
}

/** Hand the conversation on as a ticket: the effect of `converted` creates it. */
export function conversion(
  sessionId: string,
  visitor: Visitor,
  reason: ConversionReason,
  message: Messages,
  ctx: DecideContext,
): SessionEvent[] {
  const ticketId = chatTicketId(sessionId);
  const reply = visitor.email === null
    ? "an agent will reply there"
    : `we will reply to ${visitor.email}`;
  return [
    { type: "converted", by: systemSub, at: ctx.now, ticketId, reason },
    { type: "closed", by: systemSub, at: ctx.now, reason: "converted" },
    message.system(
      `No agent is available right now, so we turned this conversation into ticket ${ticketId}; ${reply}.`,
    ),
  ];
}
