// The ticket's vocabulary: the commands it takes, the events and state they
// make with their SLA clocks, and the bounds those commands are held to.
// ticket.ts publishes it; the decider's parts import it from here rather
// than from ticket.ts, which imports them.
import type { Caller, Priority } from "./decider.ts";
import type { Explanation } from "./queue.ts";
import type { RouteCommand } from "./_queue_effects.ts";

/** Ticket life-cycle states. */
export type TicketStatus = "new" | "assigned" | "in_progress" | "pending" | "resolved" | "closed";

/** Commands a ticket accepts. Every command names its caller in `by`. */
export type TicketCommand =
  | {
    type: "create";
    by: Caller;
    subject: string;
    body: string;
    priority?: Priority;
    tags?: string[];
    team?: string;
    /** The customer the ticket is for; defaults to the caller. */
    requester?: string;
  }
  | { type: "claim"; by: Caller }
  | { type: "assign"; by: Caller; agent: string }
  | { type: "transfer"; by: Caller; to: { agent: string } | { team: string }; reason: string }
  | { type: "unassign"; by: Caller }
  | RouteCommand
  | {
    type: "comment";
    by: Caller;
    body: string;
    visibility: "public" | "internal";
    /** Set the ticket to `pending` (waiting on the customer) with this reply. */
    pending?: boolean;
  }
  | { type: "priority"; by: Caller; priority: Priority }
  | { type: "tag"; by: Caller; tags: string[] }
  | { type: "untag"; by: Caller; tags: string[] }
  | { type: "escalate"; by: Caller; level: number; reason: string }
  | { type: "resolve"; by: Caller }
  | { type: "close"; by: Caller }
  | { type: "reopen"; by: Caller };

/** The business limits a ticket enforces, for validators that want to agree. */
export const ticketLimits = {
  subjectChars: 200,
  bodyChars: 20_000,
  tags: 20,
  tagChars: 40,
  reasonChars: 500,
  teamChars: 80,
  /** Agent and requester ids. */
  idChars: 200,
  maxEscalationLevel: 5,
} as const;

/** The two SLA clocks a ticket runs. */
export type SlaClock = "first_response" | "resolution";

/** SLA targets in minutes, captured from the tenant policy at create or priority change. */
export interface SlaTargets {
  firstResponseMinutes: number;
  resolutionMinutes: number;
}

/** What a ticket keeps of its SLA: the targets and the facts that move the deadlines. */
export interface TicketSla extends SlaTargets {
  /** When an agent first replied publicly; stops the first-response clock. */
  firstRespondedAt: number | null;
  /** When the resolution clock stopped running (pending, resolved or closed), else null. */
  pausedAt: number | null;
  /** Paused time already accumulated; pushes the resolution deadline later. */
  pausedMs: number;
  firstResponseBreached: boolean;
  resolutionBreached: boolean;
}

/** The state of one ticket: small on purpose, comment bodies live in the event log. */
export interface TicketState {
  id: string;
  tenant: string;
  /** `none` until the ticket is created. */
  status: TicketStatus | "none";
  /** Command id of the create, so a retried create is recognised. */
  createCommandId: string | null;
  subject: string;
  priority: Priority;
  tags: string[];
  team: string | null;
  requester: string | null;
  assignee: string | null;
  escalationLevel: number;
  createdAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  closedAt: number | null;
  /** Count of public comments. */
  comments: number;
  /** Count of internal notes. */
  notes: number;
  sla: TicketSla;
  /** Events folded so far; names the commands an event sends, as several may share a millisecond. */
  revision?: number;
}

/** Fields every ticket event carries: who caused it and when (the turn's `ctx.now`). */
export interface TicketEventBase {
  by: string;
  at: number;
}

/**
 * Events of a ticket. Status moves only through `status_changed`, so the log
 * reads as the ticket's audit history.
 */
export type TicketEvent =
  | TicketEventBase & {
    type: "created";
    commandId: string;
    subject: string;
    body: string;
    priority: Priority;
    tags: string[];
    team: string | null;
    requester: string;
    sla: SlaTargets;
  }
  | TicketEventBase & {
    type: "assigned";
    agent: string;
    previous: string | null;
    via: "claim" | "assign" | "route";
    /** Why the queue's router chose this agent, when it did. */
    explanation?: Explanation;
  }
  | TicketEventBase & {
    type: "transferred";
    from: { agent: string | null; team: string | null };
    to: { agent: string } | { team: string };
    reason: string;
  }
  | TicketEventBase & { type: "unassigned"; agent: string }
  | TicketEventBase & { type: "status_changed"; from: TicketStatus; to: TicketStatus }
  | TicketEventBase & {
    type: "commented";
    role: Caller["role"];
    visibility: "public" | "internal";
    body: string;
  }
  | TicketEventBase & { type: "priority_changed"; from: Priority; to: Priority; sla: SlaTargets }
  | TicketEventBase & { type: "tagged"; tags: string[] }
  | TicketEventBase & { type: "untagged"; tags: string[] }
  | TicketEventBase & { type: "escalated"; from: number; level: number; reason: string }
  | TicketEventBase & { type: "sla_breached"; clock: SlaClock; dueAt: number }
  /** The queue assigned the ticket once it was no longer open: the queue is told. */
  | TicketEventBase & { type: "route_declined"; agent: string };
