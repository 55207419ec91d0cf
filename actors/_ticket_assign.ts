// Who works a ticket: the claim, assign, route, transfer and unassign
// commands, each deciding the assignee and the status that follows.
import { type RouteCommand, routeOutcome } from "./_queue_effects.ts";
import { type Caller, type DecideContext, reject } from "./decider.ts";
import { forbidden, isAgent, isManager, isRefusal, text } from "./_validation.ts";
import { ticketLimits, type TicketState, type TicketStatus } from "./_ticket_types.ts";
import { OPEN, statusForNewAssignee } from "./_ticket_evolve.ts";
import { transferTarget } from "./_ticket_input.ts";
import {
  type CommandOf,
  invalidTransition,
  moveTo,
  type Outcome,
  requireOpen,
  unlessAssigneeOrManager,
} from "./_ticket_rules.ts";

/** The first claim wins; every later one learns who owns the ticket. */
export function claim(
  state: TicketState,
  status: TicketStatus,
  by: Caller,
  ctx: DecideContext,
): Outcome {
  if (!isAgent(by)) return forbidden("only agents claim tickets");
  const refused = requireOpen(status, "claim");
  if (refused) return refused;
  if (state.assignee !== null) {
    return reject("already_claimed", `ticket is already claimed by ${state.assignee}`, {
      details: { owner: state.assignee },
    });
  }
  return {
    events: [
      { type: "assigned", by: by.sub, at: ctx.now, agent: by.sub, previous: null, via: "claim" },
      ...moveTo(status, "assigned", by, ctx),
    ],
  };
}

/** A supervisor or admin names the assignee. */
export function assign(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"assign">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  if (!isManager(by)) return forbidden("only supervisors and admins assign tickets");
  const agent = text(cmd.agent, "agent", ticketLimits.idChars, true);
  if (isRefusal(agent)) return agent;
  const refused = requireOpen(status, "assign");
  if (refused) return refused;
  if (agent === state.assignee) return { events: [] };
  return {
    events: [
      {
        type: "assigned",
        by: by.sub,
        at: ctx.now,
        agent,
        previous: state.assignee,
        via: "assign",
      },
      ...moveTo(status, statusForNewAssignee(status), by, ctx),
    ],
  };
}

/**
 * The queue's assignment, taken like a claim: an assignee who came first
 * keeps the ticket (the queue learns of it from that claim), and a ticket
 * no longer open takes none.
 */
export function route(
  state: TicketState,
  status: TicketStatus,
  cmd: RouteCommand,
  ctx: DecideContext,
): Outcome {
  const limits = { idChars: ticketLimits.idChars, open: OPEN.has(status), at: ctx.now };
  const outcome = routeOutcome(state.assignee, cmd, limits);
  if (!("assigned" in outcome)) return outcome;
  return {
    events: [outcome.assigned, ...moveTo(status, statusForNewAssignee(status), cmd.by, ctx)],
  };
}

/** Hand the ticket to another agent, or back to a team's queue. */
export function transfer(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"transfer">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  if (!isAgent(by)) return forbidden("only agents transfer tickets");
  const to = transferTarget(cmd.to);
  if (isRefusal(to)) return to;
  const reason = text(cmd.reason, "reason", ticketLimits.reasonChars, true);
  if (isRefusal(reason)) return reason;
  const refused = requireOpen(status, "transfer");
  if (refused) return refused;
  const notTheirs = state.assignee === null
    ? null
    : unlessAssigneeOrManager(state, by, "transfers an assigned ticket");
  if (notTheirs) return notTheirs;
  const next = "agent" in to ? statusForNewAssignee(status) : "new";
  const unchanged = "agent" in to
    ? to.agent === state.assignee
    : to.team === state.team && state.assignee === null;
  if (unchanged) return { events: [] };
  return {
    events: [
      {
        type: "transferred",
        by: by.sub,
        at: ctx.now,
        from: { agent: state.assignee, team: state.team },
        to,
        reason,
      },
      ...moveTo(status, next, by, ctx),
    ],
  };
}

/** The assignee (or a manager) gives the ticket back to the queue. */
export function unassign(
  state: TicketState,
  status: TicketStatus,
  by: Caller,
  ctx: DecideContext,
): Outcome {
  if (!isAgent(by)) return forbidden("only agents unassign tickets");
  const refused = requireOpen(status, "unassign");
  if (refused) return refused;
  if (state.assignee === null) return invalidTransition(status, "unassign");
  const notTheirs = unlessAssigneeOrManager(state, by, "unassigns a ticket");
  if (notTheirs) return notTheirs;
  return {
    events: [
      { type: "unassigned", by: by.sub, at: ctx.now, agent: state.assignee },
      ...moveTo(status, "new", by, ctx),
    ],
  };
}
