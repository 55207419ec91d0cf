// What the ticket's command families share: the shape of a decision, the
// refusals of a status that does not take a command, and the event that
// moves the status.
import { type Caller, type DecideContext, type Decision, reject } from "./decider.ts";
import { forbidden, isManager, type Refusal } from "./_validation.ts";
import type { TicketCommand, TicketEvent, TicketState, TicketStatus } from "./_ticket_types.ts";

/** What a ticket command decides. */
export type Outcome = Decision<TicketEvent>;

/** The ticket command of type `T`. */
export type CommandOf<T extends TicketCommand["type"]> = Extract<TicketCommand, { type: T }>;

/** The status change from `from` to `to`; none when it stays. */
export function moveTo(from: TicketStatus, to: TicketStatus, by: Caller, ctx: DecideContext) {
  return from === to
    ? []
    : [{ type: "status_changed" as const, by: by.sub, at: ctx.now, from, to }];
}

/**
 * Refuse `by` unless it is the ticket's assignee, a supervisor or an admin:
 * what it is `doing` works someone's ticket.
 */
export function unlessAssigneeOrManager(
  state: TicketState,
  by: Caller,
  doing: string,
): Refusal | null {
  if (isManager(by) || state.assignee === by.sub) return null;
  return forbidden(`only the assignee, a supervisor or an admin ${doing}`);
}

/** Refuse commands that need an open ticket. */
export function requireOpen(status: TicketStatus, command: string): Refusal | null {
  if (status === "closed") return closedRefusal();
  if (status === "resolved") return invalidTransition(status, command);
  return null;
}

/** The refusal of a closed ticket: it takes no change. */
export function closedRefusal(): Refusal {
  return reject("ticket_closed", "ticket is closed");
}

/** The refusal of a `command` that status `from` does not take. */
export function invalidTransition(from: TicketStatus, command: string): Refusal {
  return reject("invalid_transition", `${command} is not allowed while the ticket is ${from}`, {
    details: { from, command },
  });
}
