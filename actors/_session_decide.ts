// How a conversation decides a command: who may do what, validation, and
// the events each command becomes (see the decider's documentation in
// session.ts).
import {
  type Caller,
  type DecideContext,
  MINUTE,
  reject,
  systemSub,
  type TimerCommand,
} from "./decider.ts";
import { type RouteCommand, routeOutcome } from "./_queue_effects.ts";
import {
  forbidden,
  isAgent,
  isManager,
  isRefusal,
  isVisitor,
  optionalText,
  type Refusal,
  text,
  validation,
} from "./_validation.ts";
import type {
  CommandOf,
  Outcome,
  SessionCommand,
  SessionState,
  SessionStatus,
} from "./_session_types.ts";
import { sessionLimits } from "./_session_types.ts";
import { participantKey } from "./_session_ids.ts";
import { TIMER_NAMES, timers, visitorName } from "./_session_evolve.ts";
import { author, messages } from "./_session_messages.ts";
import { conversion, isOwnVisitor, open } from "./_session_open.ts";

type Cmd = { type: string };
/** A conversation that was opened. */
export type Opened = SessionState & { status: SessionStatus };

/** A conversation's decide: a command or a due timer, against the state. */
export function decide(
  state: SessionState,
  command: SessionCommand | TimerCommand,
  ctx: DecideContext,
): Outcome {
  if (command.type === "timer") return onTimer(state, command, ctx);
  if (command.type === "open") return open(state, command, ctx);
  if (state.status === "none") {
    return reject("not_found", `conversation ${state.id} does not exist`);
  }
  const opened = state as Opened;
  switch (command.type) {
    case "send":
      return send(opened, command, ctx);
    case "claim":
      return claim(opened, command.by, ctx);
    case "transfer":
      return transfer(opened, command, ctx);
    case "close":
      return close(opened, command.by, ctx);
    case "rate":
      return rate(opened, command, ctx);
    case "mark_read":
      return markRead(opened, command, ctx);
    case "route":
      return route(opened, command, ctx);
    default:
      // Commands arrive over the wire, so the union is a hope, not a guarantee.
      return reject("invalid_command", `unknown session command "${(command as Cmd).type}"`, {
        field: "type",
      });
  }
}

function send(state: Opened, cmd: CommandOf<"send">, ctx: DecideContext): Outcome {
  const { by } = cmd;
  const body = text(cmd.body, "body", sessionLimits.bodyChars, false);
  if (isRefusal(body)) return body;
  const kind = cmd.kind ?? "text";
  if (kind !== "text" && kind !== "note") {
    return validation("kind", "kind must be text or note");
  }
  const clientMessageId = text(
    cmd.clientMessageId,
    "clientMessageId",
    sessionLimits.clientMessageIdChars,
    false,
  );
  if (isRefusal(clientMessageId)) return clientMessageId;
  if (isVisitor(by)) {
    if (kind === "note") return forbidden("visitors cannot write internal notes");
    if (!isOwnVisitor(by, state.visitor)) {
      return forbidden("visitors write in their own conversation only");
    }
  } else if (!isManager(by) && state.agent !== by.sub) {
    return forbidden(
      state.agent === null
        ? "claim the conversation before writing in it"
        : `only the assigned agent (${state.agent}), a supervisor or an admin writes in this conversation`,
    );
  }
  if (state.status === "closed") return closedRefusal();
  return {
    events: [messages(state, ctx).write(kind, author(by), body, clientMessageId)],
  };
}

/** The first claim wins; every later one learns who owns the conversation. */
function claim(state: Opened, by: Caller, ctx: DecideContext): Outcome {
  if (!isAgent(by)) return forbidden("only agents claim conversations");
  if (state.status === "closed") return closedRefusal();
  if (state.agent === by.sub) return { events: [] };
  if (state.agent !== null) {
    return reject("already_claimed", `conversation is already claimed by ${state.agent}`, {
      details: { owner: state.agent },
    });
  }
  return {
    events: [
      {
        type: "assigned",
        by: by.sub,
        at: ctx.now,
        agent: by.sub,
        previous: null,
        via: "claim",
        reason: null,
      },
      messages(state, ctx).system(`${by.sub} joined`),
    ],
  };
}

/**
 * The queue's assignment, taken like a claim: a claim by hand that came
 * first wins (the queue learns of it from that claim), and a closed
 * conversation takes none.
 */
function route(state: Opened, cmd: RouteCommand, ctx: DecideContext): Outcome {
  const open = state.status !== "closed";
  const outcome = routeOutcome(state.agent, cmd, {
    idChars: sessionLimits.idChars,
    open,
    at: ctx.now,
  });
  if (!("assigned" in outcome)) return outcome;
  const { assigned } = outcome;
  return {
    events: [
      { ...assigned, reason: null },
      messages(state, ctx).system(`${assigned.agent} joined`),
    ],
  };
}

function transfer(state: Opened, cmd: CommandOf<"transfer">, ctx: DecideContext): Outcome {
  const { by } = cmd;
  const to = text(cmd.to, "to", sessionLimits.idChars, true);
  if (isRefusal(to)) return to;
  const reason = optionalText(cmd.reason, "reason", sessionLimits.reasonChars, true);
  if (isRefusal(reason)) return reason;
  if (!isAgent(by)) return forbidden("only agents transfer conversations");
  if (!isManager(by) && state.agent !== by.sub) {
    return forbidden("only the assigned agent, a supervisor or an admin transfers a conversation");
  }
  if (state.status === "closed") return closedRefusal();
  if (to === state.agent) return { events: [] };
  const note = state.agent === null ? `${to} joined` : `Transferred from ${state.agent} to ${to}`;
  return {
    events: [
      {
        type: "assigned",
        by: by.sub,
        at: ctx.now,
        agent: to,
        previous: state.agent,
        via: "transfer",
        reason,
      },
      messages(state, ctx).system(note),
    ],
  };
}

function close(state: Opened, by: Caller, ctx: DecideContext): Outcome {
  if (isVisitor(by)) {
    if (!isOwnVisitor(by, state.visitor)) {
      return forbidden("visitors close their own conversation only");
    }
  } else if (!isManager(by) && state.agent !== by.sub) {
    return forbidden("only the assigned agent, a supervisor or an admin closes a conversation");
  }
  if (state.status === "closed") return closedRefusal();
  const who = isVisitor(by) ? visitorName(state.visitor) : by.sub;
  return {
    events: [
      { type: "closed", by: by.sub, at: ctx.now, reason: isVisitor(by) ? "visitor" : "agent" },
      messages(state, ctx).system(`${who} closed the conversation`),
    ],
  };
}

function rate(state: Opened, cmd: CommandOf<"rate">, ctx: DecideContext): Outcome {
  const { by } = cmd;
  const { minScore, maxScore } = sessionLimits;
  if (!Number.isInteger(cmd.score) || cmd.score < minScore || cmd.score > maxScore) {
    return validation("score", `score must be an integer from ${minScore} to ${maxScore}`);
  }
  const comment = optionalText(cmd.comment, "comment", sessionLimits.commentChars, true);
  if (isRefusal(comment)) return comment;
  if (!isOwnVisitor(by, state.visitor)) {
    return forbidden("only the conversation's visitor rates it");
  }
  if (state.status !== "closed") {
    const message = `rate is not allowed while the conversation is ${state.status}`;
    return reject("invalid_transition", message, {
      details: { from: state.status, command: "rate" },
    });
  }
  if (state.rating !== null) {
    return reject("already_rated", "conversation is already rated", {
      details: { score: state.rating.score },
    });
  }
  return { events: [{ type: "rated", by: by.sub, at: ctx.now, score: cmd.score, comment }] };
}

// Monotone and idempotent: a marker at or below the checkpoint changes
// nothing, and one past the last message is held at it.
function markRead(state: Opened, cmd: CommandOf<"mark_read">, ctx: DecideContext): Outcome {
  const { by } = cmd;
  if (!Number.isSafeInteger(cmd.seq) || cmd.seq < 0) {
    return validation("seq", "seq must be a non-negative integer");
  }
  if (isVisitor(by) && !isOwnVisitor(by, state.visitor)) {
    return forbidden("visitors mark their own conversation only");
  }
  const participant = participantKey(by);
  const seq = Math.min(cmd.seq, isVisitor(by) ? state.publicSeq : state.seq);
  if (seq <= (state.readMarkers?.[participant] ?? 0)) return { events: [] };
  return { events: [{ type: "read_marked", by: by.sub, at: ctx.now, participant, seq }] };
}

/** A due timer acts only if the current state still wants it, so stale and repeated ones do nothing. */
function onTimer(state: SessionState, cmd: TimerCommand, ctx: DecideContext): Outcome {
  const wanted = timers(state).some((timer) => timer.name === cmd.name && timer.at === cmd.at);
  if (!wanted) return { events: [] };
  const message = messages(state, ctx);
  if (cmd.name === TIMER_NAMES.waitLimit) {
    return { events: conversion(state.id, state.visitor, "wait_limit", message, ctx) };
  }
  const minutes = state.limits.idleCloseMinutes;
  const idleUntil = state.lastMessageAt + minutes * MINUTE;
  if (ctx.now < idleUntil) {
    return { events: [{ type: "idle_checked", by: systemSub, at: ctx.now, next: idleUntil }] };
  }
  return {
    events: [
      { type: "closed", by: systemSub, at: ctx.now, reason: "idle" },
      message.system(`Closed after ${minutes} minutes without messages`),
    ],
  };
}

function closedRefusal(): Refusal {
  return reject("conversation_closed", "conversation is closed");
}
