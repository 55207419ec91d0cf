/**
 * The session actor: a pure decider for one live chat conversation between a
 * visitor and the agents who serve them.
 *
 * @module
 */
import { projectionOf } from "./_projection.ts";
import {
  type ActorAddress,
  type Caller,
  type DecideContext,
  type Decider,
  type Decision,
  type Effect,
  reject,
  systemSub,
  type TenantSettings,
  type TimerCommand,
  type TimerSpec,
} from "./decider.ts";
import { type TicketCommand, ticketLimits } from "./ticket.ts";
import type { Explanation } from "./queue.ts";
import { itemOf, type RouteCommand, routeOutcome, toQueue } from "./_queue_effects.ts";
import {
  chatArrival,
  type ChatRouting,
  chatRouting,
  type RoutingFields,
} from "./_session_routing.ts";

export type { ChatRouting } from "./_session_routing.ts";
import {
  charCount,
  forbidden,
  isAgent,
  isManager,
  isRefusal,
  isVisitor,
  type Refusal,
  text,
  validation,
} from "./_validation.ts";

/** Conversation life-cycle states. */
export type SessionStatus = "queued" | "assigned" | "closed";

/**
 * Kinds of message: `text` between visitor and agents, `note` among agents
 * only, `system` for what happened to the conversation.
 */
export type MessageKind = "text" | "note" | "system";

/** Who wrote a message; system messages are written by {@linkcode systemSub}. */
export interface MessageAuthor {
  sub: string;
  role: Caller["role"] | "system";
}

/** The visitor of a conversation, as the edge vouches for them. */
export interface Visitor {
  id: string;
  name: string | null;
  email: string | null;
  /** Whether the tenant's site vouched for the identity, not just the browser. */
  verified: boolean;
}

/** Why a conversation closed. `agent` covers supervisors and admins too. */
export type CloseReason = "visitor" | "agent" | "idle" | "converted";

/** Why a conversation became a ticket. */
export type ConversionReason = "no_agent_online" | "wait_limit";

/** Commands a conversation accepts. Every command names its caller in `by`. */
export type SessionCommand =
  | {
    type: "open";
    by: Caller;
    visitor: { id: string; name?: string; email?: string; verified: boolean };
    /** How many of the tenant's agents are online right now, as the edge sees it. */
    agentsOnline: number;
    subject?: string;
  } & RoutingFields
  | {
    type: "send";
    by: Caller;
    body: string;
    /** `text` by default; only agents write notes. */
    kind?: "text" | "note";
    /** The client's own id for the message, echoed so it can match its pending copy. */
    clientMessageId: string;
  }
  | { type: "claim"; by: Caller }
  | { type: "transfer"; by: Caller; to: string; reason?: string }
  | { type: "close"; by: Caller }
  | { type: "rate"; by: Caller; score: number; comment?: string }
  /**
   * Checkpoint the caller's read marker: the highest message number it has
   * read, in its own numbering (`publicSeq` for the visitor, `seq` for staff).
   */
  | { type: "mark_read"; by: Caller; seq: number }
  | RouteCommand;

/** The business limits a conversation enforces, for validators that want to agree. */
export const sessionLimits = {
  /** Shared with tickets, since a subject carries over when a chat becomes one. */
  subjectChars: ticketLimits.subjectChars,
  bodyChars: 20_000,
  /** Visitor and agent ids, which may become a ticket's requester. */
  idChars: ticketLimits.idChars,
  nameChars: 200,
  emailChars: 320,
  clientMessageIdChars: 200,
  reasonChars: ticketLimits.reasonChars,
  commentChars: 2_000,
  minScore: 1,
  maxScore: 5,
  /** Text messages kept for the transcript of a chat that becomes a ticket. */
  transcriptMessages: 200,
  /**
   * Characters of transcript lines kept. With the longest heading this keeps
   * a ticket body under the ticket's 20,000 characters.
   */
  transcriptChars: 18_500,
} as const;

/** A visitor's rating of a closed conversation. */
export interface Rating {
  score: number;
  comment: string | null;
}

/**
 * The state of one conversation. Message bodies live in the event log; the
 * state keeps only the recent public text, as transcript lines, so that a
 * chat nobody takes can be handed on as a ticket.
 */
export interface SessionState {
  id: string;
  tenant: string;
  /** `none` until the conversation is opened. */
  status: SessionStatus | "none";
  /** Command id of the open, so a retried open is recognised. */
  openCommandId: string | null;
  visitor: Visitor;
  subject: string | null;
  /** What routes it (topic, language, skills), when the open named any. */
  routing?: ChatRouting;
  agent: string | null;
  /** The tenant's chat clocks as of the open, so later policy edits move no deadlines. */
  limits: TenantSettings["chat"];
  /** Last message number; every message counts. */
  seq: number;
  /** Last message number a visitor sees; notes do not count. */
  publicSeq: number;
  createdAt: number;
  updatedAt: number;
  /** When the last message of any kind was written; the idle clock runs from here. */
  lastMessageAt: number;
  /**
   * When the idle clock is next looked at. It moves only when it fires, not
   * with every message, so a busy conversation does not rewrite its timer.
   */
  idleCheckAt: number;
  closedAt: number | null;
  closedBy: string | null;
  closeReason: CloseReason | null;
  /** The ticket this conversation became, if it did. */
  ticketId: string | null;
  rating: Rating | null;
  /** Rendered text messages, oldest first, capped by {@linkcode sessionLimits}. */
  transcript: string[];
  /** Whether older lines were dropped from {@linkcode SessionState.transcript}. */
  transcriptTrimmed: boolean;
  /**
   * Checkpointed read markers by {@linkcode participantKey}: the highest
   * message number each participant read (absent in states of older versions).
   */
  readMarkers?: Record<string, number>;
}

/**
 * One message, complete enough to push to a client as it is. `seq` numbers
 * every message; `publicSeq` numbers what a visitor sees, so a note repeats
 * the public number of the message before it and is marked `internal`.
 */
export interface MessageEvent {
  type: "message";
  seq: number;
  publicSeq: number;
  kind: MessageKind;
  author: MessageAuthor;
  body: string;
  /** Null on system messages. */
  clientMessageId: string | null;
  at: number;
  internal: boolean;
}

/** Fields every event but a message carries: who caused it and when (the turn's `ctx.now`). */
export interface SessionEventBase {
  by: string;
  at: number;
}

/**
 * Events of a conversation. Each change participants should learn of is
 * followed by a system message telling them, so clients follow one numbered
 * stream of messages.
 */
export type SessionEvent =
  | MessageEvent
  | SessionEventBase & {
    type: "opened";
    commandId: string;
    visitor: Visitor;
    subject: string | null;
    /** What routes it, when the open named any. */
    routing?: ChatRouting;
    limits: TenantSettings["chat"];
    /** Whether it waits for an agent in the tenant's queue (not when it becomes a ticket at once). */
    queued?: boolean;
  }
  | SessionEventBase & {
    type: "assigned";
    agent: string;
    previous: string | null;
    via: "claim" | "transfer" | "route";
    /** Why it was transferred; for agents only, so no system message repeats it. */
    reason: string | null;
    /** Why the queue's router chose this agent, when it did. */
    explanation?: Explanation;
  }
  | SessionEventBase & { type: "closed"; reason: CloseReason }
  /** The idle timer fired early (messages came since): look again at `next`. */
  | SessionEventBase & { type: "idle_checked"; next: number }
  | SessionEventBase & { type: "converted"; ticketId: string; reason: ConversionReason }
  | SessionEventBase & { type: "rated"; score: number; comment: string | null }
  | SessionEventBase & { type: "read_marked"; participant: string; seq: number }
  /** The queue assigned the closed conversation (its arrival came late): the queue is told. */
  | SessionEventBase & { type: "route_declined"; agent: string };

const TIMER_NAMES = { waitLimit: "wait_limit", idleClose: "idle_close" } as const;
const MINUTE = 60_000;
const SYSTEM: MessageAuthor = { sub: systemSub, role: "system" };
const ID_CHARS = 128;
const TRIMMED_NOTE = "(earlier messages omitted)";

type Outcome = Decision<SessionEvent>;
type Cmd = { type: string };
type CommandOf<T extends SessionCommand["type"]> = Extract<SessionCommand, { type: T }>;
type Opened = SessionState & { status: SessionStatus };

/**
 * The session decider.
 *
 * Life cycle: `queued` → `assigned` → `closed`, or `queued` → `closed` when
 * the visitor leaves or the chat becomes a ticket.
 *
 * Who may do what:
 * - The visitor opens the conversation for themselves, writes text, closes
 *   it and, once it is closed, rates it once.
 * - The first agent to claim it is its agent; every later claim learns who.
 * - The assigned agent writes text and notes, transfers and closes; a
 *   supervisor or admin may do all of that, and transfer a queued chat to an
 *   agent, without being assigned.
 *
 * Offline: opened while no agent is online, or still queued when the
 * tenant's wait limit passes, the conversation becomes ticket
 * {@linkcode chatTicketId} (sent to the ticket actor as an effect, carrying
 * the transcript) and closes, and the visitor is told so.
 *
 * Idle: an assigned conversation with no message for the tenant's idle
 * limit closes.
 *
 * Commands that would change nothing (claiming one's own chat, transferring
 * to the current agent, a stale timer) succeed with no events.
 */
export const sessionDecider: Decider<SessionState, SessionCommand, SessionEvent> = {
  kind: "session",
  initial: (address) => ({
    id: address.id,
    tenant: address.tenant,
    status: "none",
    openCommandId: null,
    visitor: { id: "", name: null, email: null, verified: false },
    subject: null,
    agent: null,
    limits: { waitLimitMinutes: 0, idleCloseMinutes: 0 },
    seq: 0,
    publicSeq: 0,
    createdAt: 0,
    updatedAt: 0,
    lastMessageAt: 0,
    idleCheckAt: 0,
    closedAt: null,
    closedBy: null,
    closeReason: null,
    ticketId: null,
    rating: null,
    transcript: [],
    transcriptTrimmed: false,
    readMarkers: {},
  }),
  decide,
  evolve,
  timers,
  project: (state) => projectionOf(state, state.agent, () => summary(state)),
  view(state) {
    if (state.status === "none") return null;
    return {
      ...summary(state),
      seq: state.seq,
      publicSeq: state.publicSeq,
      closedAt: state.closedAt,
      closedBy: state.closedBy,
    };
  },
  // A retried send acknowledges the numbers its message got.
  receipt: (state) => ({ seq: state.seq, publicSeq: state.publicSeq }),
  pushed: true,
  effects,
};

/**
 * The key of a participant's read marker: `visitor:` or `agent:` (any
 * staff) and its sub, so a visitor and an agent with the same sub differ.
 */
export function participantKey(by: { sub: string; role: string }): string {
  return `${isVisitor(by) ? "visitor" : "agent"}:${by.sub}`;
}

/**
 * The id of the ticket a conversation becomes: `chat-` and the session id,
 * or for ids too long for that a prefix of it and a hash of the whole, so
 * distinct conversations never share a ticket.
 */
export function chatTicketId(sessionId: string): string {
  const id = `chat-${sessionId}`;
  if (id.length <= ID_CHARS) return id;
  const hash = fnv1a(sessionId).toString(16).padStart(8, "0");
  return `chat-${sessionId.slice(0, ID_CHARS - 14)}-${hash}`;
}

function decide(
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

function open(state: SessionState, cmd: CommandOf<"open">, ctx: DecideContext): Outcome {
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
  const subject = cmd.subject === undefined
    ? null
    : text(cmd.subject, "subject", sessionLimits.subjectChars, true);
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

/**
 * Where the ids of anonymous visitors start: the edge mints them for every
 * visitor no tenant vouched for, so no verified id is ever in this namespace.
 */
export const anonymousVisitorPrefix = "anon:";

/** True when `id` names an anonymous (unverified) visitor. */
export function isAnonymousVisitorId(id: string): boolean {
  return id.startsWith(anonymousVisitorPrefix);
}

// The caller is the conversation's visitor when the ids match and the
// conversation was opened under the same kind of identity: an unverified id
// outside the anonymous namespace (opened before visitors had anonymous ids)
// is nobody's, so a customer is never handed what someone typing their id wrote.
function isOwnVisitor(by: Caller, visitor: Visitor): boolean {
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
  const name = raw.name === undefined
    ? null
    : text(raw.name, "visitor.name", sessionLimits.nameChars, true);
  if (isRefusal(name)) return name;
  const email = raw.email === undefined
    ? null
    : text(raw.email, "visitor.email", sessionLimits.emailChars, true);
  if (isRefusal(email)) return email;
  if (email !== null && !/^[^\s@]+@[^\s@]+$/.test(email)) {
    return validation("visitor.email", "visitor.email must be an email address");
  }
  if (typeof raw.verified !== "boolean") {
    return validation("visitor.verified", "visitor.verified must be a boolean");
  }
  return { id, name, email, verified: raw.verified };
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
  const reason = cmd.reason === undefined
    ? null
    : text(cmd.reason, "reason", sessionLimits.reasonChars, true);
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
  const comment = cmd.comment === undefined
    ? null
    : text(cmd.comment, "comment", sessionLimits.commentChars, true);
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

/** Hand the conversation on as a ticket: the effect of `converted` creates it. */
function conversion(
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

interface Messages {
  write(
    kind: MessageKind,
    by: MessageAuthor,
    body: string,
    clientMessageId: string | null,
  ): MessageEvent;
  system(body: string): MessageEvent;
}

/** Numbers the messages of one turn on from the state's counters. */
function messages(state: SessionState, ctx: DecideContext): Messages {
  let seq = state.seq;
  let publicSeq = state.publicSeq;
  const write: Messages["write"] = (kind, by, body, clientMessageId) => {
    const internal = kind === "note";
    seq += 1;
    if (!internal) publicSeq += 1;
    return {
      type: "message",
      seq,
      publicSeq,
      kind,
      author: by,
      body,
      clientMessageId,
      at: ctx.now,
      internal,
    };
  };
  return { write, system: (body) => write("system", SYSTEM, body, null) };
}

function evolve(state: SessionState, event: SessionEvent): SessionState {
  // Reading changes nothing anyone else sees of the conversation.
  if (event.type === "read_marked") {
    return { ...state, readMarkers: { ...state.readMarkers, [event.participant]: event.seq } };
  }
  const next = { ...state, updatedAt: event.at };
  switch (event.type) {
    case "opened":
      return {
        ...next,
        status: "queued",
        openCommandId: event.commandId,
        visitor: { ...event.visitor },
        subject: event.subject,
        ...(event.routing && { routing: structuredClone(event.routing) }),
        limits: { ...event.limits },
        createdAt: event.at,
      };
    case "message":
      return {
        ...next,
        seq: event.seq,
        publicSeq: event.publicSeq,
        lastMessageAt: event.at,
        ...(event.kind === "text" ? withLine(next, transcriptLine(next, event)) : {}),
      };
    case "assigned":
      return {
        ...next,
        status: "assigned",
        agent: event.agent,
        idleCheckAt: event.at + state.limits.idleCloseMinutes * MINUTE,
      };
    case "idle_checked":
      return { ...next, idleCheckAt: event.next };
    case "closed":
      return {
        ...next,
        status: "closed",
        closedAt: event.at,
        closedBy: event.by,
        closeReason: event.reason,
      };
    case "converted":
      return { ...next, ticketId: event.ticketId };
    case "rated":
      return { ...next, rating: { score: event.score, comment: event.comment } };
    case "route_declined":
      return next;
    default:
      // Events of a newer version replay as no-ops rather than breaking the fold.
      return state;
  }
}

/** Append a line, then drop the oldest until the transcript fits its caps. */
function withLine(
  state: SessionState,
  line: string,
): Pick<SessionState, "transcript" | "transcriptTrimmed"> {
  const lines = [...state.transcript, clip(line, sessionLimits.transcriptChars)];
  // Lines are joined by newlines, which count too.
  let chars = lines.reduce((sum, kept) => sum + charCount(kept), lines.length - 1);
  let dropped = 0;
  while (
    lines.length - dropped > sessionLimits.transcriptMessages ||
    chars > sessionLimits.transcriptChars
  ) {
    chars -= charCount(lines[dropped]) + 1;
    dropped++;
  }
  return {
    transcript: lines.slice(dropped),
    transcriptTrimmed: state.transcriptTrimmed || dropped > 0,
  };
}

function transcriptLine(state: SessionState, event: MessageEvent): string {
  const who = event.author.role === "visitor" ? visitorName(state.visitor) : event.author.sub;
  return `[${timestamp(event.at)}] ${who}: ${event.body}`;
}

function timers(state: SessionState): TimerSpec[] {
  if (state.status === "queued") {
    // A conversation waits from the moment it is opened; nothing puts it back in the queue.
    const at = state.createdAt + state.limits.waitLimitMinutes * MINUTE;
    return [{ name: TIMER_NAMES.waitLimit, at }];
  }
  if (state.status === "assigned") return [{ name: TIMER_NAMES.idleClose, at: state.idleCheckAt }];
  return [];
}

/** What the tenant's queue learns of the conversation, and the ticket a conversion creates. */
function effects(state: SessionState, event: SessionEvent, address: ActorAddress): Effect[] {
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

function summary(state: SessionState): Record<string, unknown> {
  return {
    id: state.id,
    tenant: state.tenant,
    status: state.status,
    visitor: { id: state.visitor.id, name: state.visitor.name, verified: state.visitor.verified },
    agent: state.agent,
    subject: state.subject,
    ...(state.routing && { topic: state.routing.topic, language: state.routing.language }),
    messages: state.seq,
    lastMessageAt: state.lastMessageAt,
    rating: state.rating === null ? null : { ...state.rating },
    ticketId: state.ticketId,
    closeReason: state.closeReason,
    readMarkers: { ...state.readMarkers },
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}

function author(by: Caller): MessageAuthor {
  return { sub: by.sub, role: by.role };
}

function visitorName(visitor: Visitor): string {
  return visitor.name ?? visitor.id;
}

function timestamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** At most `max` characters, with an ellipsis where it was cut. */
function clip(value: string, max: number): string {
  if (charCount(value) <= max) return value;
  return [...value].slice(0, max - 1).join("") + "…";
}

function closedRefusal(): Refusal {
  return reject("conversation_closed", "conversation is closed");
}

/** 32-bit FNV-1a over UTF-16 code units; ids are ASCII, so that is over their bytes. */
function fnv1a(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  }
  return hash >>> 0;
}
