/**
 * The ticket actor: a pure decider for one support ticket.
 *
 * @module
 */
import { projectionOf } from "./_projection.ts";
import type { Explanation } from "./queue.ts";
import type { RouteCommand } from "./_queue_effects.ts";
import { ticketQueueEffects } from "./_ticket_queue.ts";
import { decide } from "./_ticket_decide.ts";
import { evolve, firstResponseDueAt, resolutionDueAt, timers } from "./_ticket_evolve.ts";
import type { Caller, Decider, Priority } from "./decider.ts";

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

export { ticketItem } from "./_ticket_queue.ts";

/**
 * The ticket decider.
 *
 * Life cycle: `new` → `assigned` ↔ `in_progress` ↔ `pending` → `resolved` →
 * `closed`, and `reopen` from `resolved` or, within the tenant's window, from
 * `closed`. An open ticket is `new` exactly when it has no assignee.
 *
 * Who may do what:
 * - Anyone creates; a visitor only for themselves.
 * - Visitors act only on tickets they requested: public comments, and reopen.
 * - Any agent role claims, comments, sets priority, tags and escalates.
 * - `assign` and closing an unresolved ticket need a supervisor or admin.
 * - `transfer`, `unassign`, `resolve` and closing a resolved ticket need the
 *   assignee or a supervisor or admin; an agent may also transfer an
 *   unassigned ticket.
 *
 * Replies move the status: an agent's public reply turns `assigned` into
 * `in_progress`; `pending: true` makes it `pending`, `pending: false` takes it
 * off `pending`; the requester's reply turns `pending` into `in_progress`. A
 * new assignee turns `in_progress` back into `assigned` (the new owner has
 * not started) but leaves `pending` alone (still waiting on the customer).
 * A resolved ticket takes tags, internal notes, close and reopen only.
 *
 * SLA: the first-response deadline is `createdAt` plus the target; the first
 * public agent reply stops that clock. The resolution deadline is `createdAt`
 * plus the target plus all time spent pending, resolved or closed. A breach
 * emits `sla_breached` and raises the escalation level by one (up to the
 * maximum); the clock then wants no more timers. Targets come from the
 * tenant's policy when the ticket is created or its priority changes, so a
 * later policy edit does not move deadlines of existing tickets.
 *
 * Commands that would change nothing (assigning the current assignee, adding
 * present tags, setting the current priority, a stale timer) succeed with no
 * events.
 */
export const ticketDecider: Decider<TicketState, TicketCommand, TicketEvent> = {
  kind: "ticket",
  initial: (address) => ({
    id: address.id,
    tenant: address.tenant,
    status: "none",
    createCommandId: null,
    subject: "",
    priority: "normal",
    tags: [],
    team: null,
    requester: null,
    assignee: null,
    escalationLevel: 0,
    createdAt: 0,
    updatedAt: 0,
    resolvedAt: null,
    closedAt: null,
    comments: 0,
    notes: 0,
    sla: {
      firstResponseMinutes: 0,
      resolutionMinutes: 0,
      firstRespondedAt: null,
      pausedAt: null,
      pausedMs: 0,
      firstResponseBreached: false,
      resolutionBreached: false,
    },
  }),
  decide,
  evolve,
  timers,
  project: (state) => projectionOf(state, state.assignee, () => summary(state)),
  effects: ticketQueueEffects,
  view(state) {
    if (state.status === "none") return null;
    return {
      ...summary(state),
      resolvedAt: state.resolvedAt,
      closedAt: state.closedAt,
      comments: state.comments,
      notes: state.notes,
    };
  },
};

/**
 * What a visitor is shown of a ticket (the requester's view): its subject,
 * where it stands and when, and how many public replies it has. Not who
 * works on it, its team, tags, priority, escalation, SLA clocks or internal
 * notes: those are the staff's.
 */
export function visitorTicketView(view: Record<string, unknown>): Record<string, unknown> {
  const { id, subject, status, requester, comments, createdAt, updatedAt, resolvedAt, closedAt } =
    view;
  return { id, subject, status, requester, comments, createdAt, updatedAt, resolvedAt, closedAt };
}
function summary(state: TicketState): Record<string, unknown> {
  return {
    id: state.id,
    tenant: state.tenant,
    subject: state.subject,
    status: state.status,
    priority: state.priority,
    assignee: state.assignee,
    team: state.team,
    tags: [...state.tags],
    requester: state.requester,
    escalationLevel: state.escalationLevel,
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
    sla: {
      firstResponseDueAt: firstResponseDueAt(state),
      firstRespondedAt: state.sla.firstRespondedAt,
      resolutionDueAt: resolutionDueAt(state),
      paused: state.status === "pending",
      breached: {
        firstResponse: state.sla.firstResponseBreached,
        resolution: state.sla.resolutionBreached,
      },
    },
  };
}
