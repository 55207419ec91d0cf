// How the ticket's events fold into its state, and the SLA clocks and timers
// that state wants. Pure: every event copies what it changes.
import { MINUTE, type TimerSpec } from "./decider.ts";
import type { SlaClock, TicketEvent, TicketState, TicketStatus } from "./_ticket_types.ts";

/** The durable timer of each SLA clock. */
export const TIMER_NAMES: Record<SlaClock, string> = {
  first_response: "sla.first_response",
  resolution: "sla.resolution",
};
/** Statuses of an open ticket. */
export const OPEN: ReadonlySet<string> = new Set(["new", "assigned", "in_progress", "pending"]);

/** Fold one ticket event into the state. */
export function evolve(state: TicketState, event: TicketEvent): TicketState {
  const next = { ...state, updatedAt: event.at, revision: (state.revision ?? 0) + 1 };
  switch (event.type) {
    case "created":
      return {
        ...next,
        status: "new",
        createCommandId: event.commandId,
        subject: event.subject,
        priority: event.priority,
        tags: [...event.tags],
        team: event.team,
        requester: event.requester,
        createdAt: event.at,
        sla: { ...state.sla, ...event.sla },
      };
    case "assigned":
      return { ...next, assignee: event.agent };
    case "transferred":
      return "agent" in event.to
        ? { ...next, assignee: event.to.agent }
        : { ...next, assignee: null, team: event.to.team };
    case "unassigned":
      return { ...next, assignee: null };
    case "status_changed":
      return changeStatus(next, event.from, event.to, event.at);
    case "commented": {
      if (event.visibility === "internal") return { ...next, notes: next.notes + 1 };
      const firstReply = event.role !== "visitor" && next.sla.firstRespondedAt === null;
      return {
        ...next,
        comments: next.comments + 1,
        sla: firstReply ? { ...next.sla, firstRespondedAt: event.at } : next.sla,
      };
    }
    case "priority_changed":
      return { ...next, priority: event.to, sla: { ...next.sla, ...event.sla } };
    case "tagged":
      return { ...next, tags: [...next.tags, ...event.tags.filter((t) => !next.tags.includes(t))] };
    case "untagged":
      return { ...next, tags: next.tags.filter((tag) => !event.tags.includes(tag)) };
    case "escalated":
      return { ...next, escalationLevel: event.level };
    case "sla_breached":
      return {
        ...next,
        sla: event.clock === "first_response"
          ? { ...next.sla, firstResponseBreached: true }
          : { ...next.sla, resolutionBreached: true },
      };
    case "route_declined":
      return next;
    default:
      // Events of a newer version replay as no-ops rather than breaking the fold.
      return state;
  }
}

/** Move the status and run or pause the resolution clock accordingly. */
function changeStatus(
  state: TicketState,
  from: TicketStatus,
  to: TicketStatus,
  at: number,
): TicketState {
  let sla = state.sla;
  if (clockRuns(from) && !clockRuns(to)) sla = { ...sla, pausedAt: at };
  if (!clockRuns(from) && clockRuns(to) && sla.pausedAt !== null) {
    sla = { ...sla, pausedMs: sla.pausedMs + (at - sla.pausedAt), pausedAt: null };
  }
  return {
    ...state,
    status: to,
    sla,
    resolvedAt: to === "resolved" ? at : to === "closed" ? state.resolvedAt : null,
    closedAt: to === "closed" ? at : null,
  };
}

/** The durable timers the state wants: one per SLA clock still running and not breached. */
export function timers(state: TicketState): TimerSpec[] {
  if (!OPEN.has(state.status)) return [];
  const wanted: TimerSpec[] = [];
  if (state.sla.firstRespondedAt === null && !state.sla.firstResponseBreached) {
    wanted.push({ name: TIMER_NAMES.first_response, at: firstResponseDueAt(state) });
  }
  if (state.sla.pausedAt === null && !state.sla.resolutionBreached) {
    wanted.push({ name: TIMER_NAMES.resolution, at: resolutionDueAt(state) });
  }
  return wanted;
}

/** When the first public agent reply is due. */
export function firstResponseDueAt(state: TicketState): number {
  return state.createdAt + state.sla.firstResponseMinutes * MINUTE;
}

/** While the clock is paused this is the deadline as of the pause; resuming moves it later. */
export function resolutionDueAt(state: TicketState): number {
  return state.createdAt + state.sla.resolutionMinutes * MINUTE + state.sla.pausedMs;
}

function clockRuns(status: TicketStatus): boolean {
  return status === "new" || status === "assigned" || status === "in_progress";
}

/** A new assignee has not started yet, but a ticket waiting on its customer still is. */
export function statusForNewAssignee(status: TicketStatus): TicketStatus {
  return status === "pending" ? "pending" : "assigned";
}
