// A conversation's vocabulary: the commands it takes, the events and state
// they make, and the bounds those commands are held to. session.ts
// publishes it; the decider's parts import it from here rather than from
// session.ts, which imports them.
import type { Caller, Decision, TenantSettings } from "./decider.ts";
import { ticketLimits } from "./ticket.ts";
import type { Explanation } from "./queue.ts";
import type { RouteCommand } from "./_queue_effects.ts";
import type { ChatRouting, RoutingFields } from "./_session_routing.ts";

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
  /**
   * The characters of {@linkcode SessionState.transcript} joined by newlines
   * (absent in states of older versions, and counted when next needed).
   */
  transcriptChars?: number;
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

/** What the conversation's decide gives for a command: its events, or a refusal. */
export type Outcome = Decision<SessionEvent>;

/** The conversation's command of type `T`. */
export type CommandOf<T extends SessionCommand["type"]> = Extract<SessionCommand, { type: T }>;
