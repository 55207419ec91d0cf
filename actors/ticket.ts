/**
 * The ticket actor: a pure decider for one support ticket.
 *
 * @module
 */
import { projectionOf } from "./_projection.ts";
import type { TicketCommand, TicketEvent, TicketState } from "./_ticket_types.ts";
import { ticketQueueEffects } from "./_ticket_queue.ts";
import { decide } from "./_ticket_decide.ts";
import { evolve, firstResponseDueAt, resolutionDueAt, timers } from "./_ticket_evolve.ts";
import type { Decider } from "./decider.ts";

export {
  type SlaClock,
  type SlaTargets,
  type TicketCommand,
  type TicketEvent,
  type TicketEventBase,
  ticketLimits,
  type TicketSla,
  type TicketState,
  type TicketStatus,
} from "./_ticket_types.ts";
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
