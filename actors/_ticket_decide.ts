// How the ticket decides a command: validation, permissions and the events
// each command becomes (see the decider's documentation in ticket.ts).
import {
  type Caller,
  type DecideContext,
  MINUTE,
  type Priority,
  reject,
  systemSub,
  type TimerCommand,
} from "./decider.ts";
import {
  forbidden,
  isAgent,
  isManager,
  isRefusal,
  isVisitor,
  optionalText,
  text,
  validation,
} from "./_validation.ts";
import {
  type SlaClock,
  type SlaTargets,
  type TicketCommand,
  type TicketEvent,
  ticketLimits,
  type TicketState,
  type TicketStatus,
} from "./_ticket_types.ts";
import { TIMER_NAMES, timers } from "./_ticket_evolve.ts";
import { assign, claim, route, transfer, unassign } from "./_ticket_assign.ts";
import { normalizeTags, priorityOf } from "./_ticket_input.ts";
import {
  closedRefusal,
  type CommandOf,
  invalidTransition,
  moveTo,
  type Outcome,
  requireOpen,
  unlessAssigneeOrManager,
} from "./_ticket_rules.ts";

/** The ticket's decide: a command or a due timer, against the state. */
export function decide(
  state: TicketState,
  command: TicketCommand | TimerCommand,
  ctx: DecideContext,
): Outcome {
  if (command.type === "timer") return onTimer(state, command, ctx);
  if (command.type === "create") return create(state, command, ctx);
  if (state.status === "none") {
    return reject("not_found", `ticket ${state.id} does not exist`);
  }
  const status = state.status;
  switch (command.type) {
    case "claim":
      return claim(state, status, command.by, ctx);
    case "assign":
      return assign(state, status, command, ctx);
    case "transfer":
      return transfer(state, status, command, ctx);
    case "unassign":
      return unassign(state, status, command.by, ctx);
    case "route":
      return route(state, status, command, ctx);
    case "comment":
      return comment(state, status, command, ctx);
    case "priority":
      return changePriority(state, status, command, ctx);
    case "tag":
    case "untag":
      return changeTags(state, status, command, ctx);
    case "escalate":
      return escalate(state, status, command, ctx);
    case "resolve":
      return resolve(state, status, command.by, ctx);
    case "close":
      return close(state, status, command.by, ctx);
    case "reopen":
      return reopen(state, status, command.by, ctx);
    default:
      // Commands arrive over the wire, so the union is a hope, not a guarantee.
      return reject("invalid_command", `unknown ticket command "${(command as Cmd).type}"`, {
        field: "type",
      });
  }
}

type Cmd = { type: string };

/** Fields of a create that only staff may set. */
const staffOnlyOnCreate = ["priority", "team", "tags"] as const;

function create(state: TicketState, cmd: CommandOf<"create">, ctx: DecideContext): Outcome {
  if (state.status !== "none") {
    return state.createCommandId === ctx.commandId
      ? { events: [] }
      : reject("already_exists", `ticket ${state.id} already exists`);
  }
  const { by } = cmd;
  if (cmd.requester !== undefined && isVisitor(by) && cmd.requester !== by.sub) {
    return forbidden("visitors open tickets for themselves only");
  }
  // Triage is the staff's: a visitor who could pick priority or team would jump the queue.
  const triage = staffOnlyOnCreate.find((field) => cmd[field] !== undefined);
  if (isVisitor(by) && triage) return validation(triage, `visitors may not set ${triage}`);
  const subject = text(cmd.subject, "subject", ticketLimits.subjectChars, true);
  if (isRefusal(subject)) return subject;
  const body = text(cmd.body, "body", ticketLimits.bodyChars, false);
  if (isRefusal(body)) return body;
  const priority = priorityOf(cmd.priority ?? "normal");
  if (isRefusal(priority)) return priority;
  const tags = normalizeTags(cmd.tags ?? []);
  if (isRefusal(tags)) return tags;
  const team = optionalText(cmd.team, "team", ticketLimits.teamChars, true);
  if (isRefusal(team)) return team;
  const requester = text(cmd.requester ?? by.sub, "requester", ticketLimits.idChars, true);
  if (isRefusal(requester)) return requester;
  return {
    events: [{
      type: "created",
      by: by.sub,
      at: ctx.now,
      commandId: ctx.commandId,
      subject,
      body,
      priority,
      tags,
      team,
      requester,
      sla: targets(ctx, priority),
    }],
  };
}

function comment(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"comment">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  const body = text(cmd.body, "body", ticketLimits.bodyChars, false);
  if (isRefusal(body)) return body;
  if (cmd.visibility !== "public" && cmd.visibility !== "internal") {
    return validation("visibility", "visibility must be public or internal");
  }
  if (cmd.pending !== undefined && typeof cmd.pending !== "boolean") {
    return validation("pending", "pending must be a boolean");
  }
  if (cmd.pending !== undefined && cmd.visibility === "internal") {
    return validation("pending", "only public replies set or clear pending");
  }
  if (isVisitor(by)) {
    if (cmd.visibility === "internal") return forbidden("visitors cannot post internal notes");
    if (cmd.pending !== undefined) return forbidden("visitors cannot set a ticket pending");
    if (state.requester !== by.sub) return forbidden("visitors comment on their own tickets only");
  }
  if (status === "closed") return closedRefusal();
  if (cmd.visibility === "internal") {
    return { events: [commented(by, ctx, "internal", body)] };
  }
  if (status === "resolved") return invalidTransition(status, "comment");
  const next = statusAfterReply(status, by, cmd.pending);
  if (next === null) return invalidTransition(status, "comment");
  return { events: [commented(by, ctx, "public", body), ...moveTo(status, next, by, ctx)] };
}

/** Where a public reply takes the ticket, or null if it cannot go there. */
function statusAfterReply(
  status: TicketStatus,
  by: Caller,
  pending: boolean | undefined,
): TicketStatus | null {
  if (isVisitor(by)) return status === "pending" ? "in_progress" : status;
  if (pending === true) return status === "new" ? null : "pending";
  return status === "assigned" || status === "pending" && pending === false
    ? "in_progress"
    : status;
}

function changePriority(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"priority">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  if (!isAgent(by)) return forbidden("only agents change priority");
  const priority = priorityOf(cmd.priority);
  if (isRefusal(priority)) return priority;
  const refused = requireOpen(status, "priority");
  if (refused) return refused;
  if (priority === state.priority) return { events: [] };
  return {
    events: [{
      type: "priority_changed",
      by: by.sub,
      at: ctx.now,
      from: state.priority,
      to: priority,
      sla: targets(ctx, priority),
    }],
  };
}

function changeTags(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"tag" | "untag">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  if (!isAgent(by)) return forbidden("only agents tag tickets");
  const tags = normalizeTags(cmd.tags);
  if (isRefusal(tags)) return tags;
  if (tags.length === 0) return validation("tags", "tags must name at least one tag");
  if (status === "closed") return closedRefusal();
  if (cmd.type === "untag") {
    const removed = tags.filter((tag) => state.tags.includes(tag));
    return {
      events: removed.length ? [{ type: "untagged", by: by.sub, at: ctx.now, tags: removed }] : [],
    };
  }
  const added = tags.filter((tag) => !state.tags.includes(tag));
  if (state.tags.length + added.length > ticketLimits.tags) {
    return validation("tags", `a ticket has at most ${ticketLimits.tags} tags`);
  }
  return {
    events: added.length ? [{ type: "tagged", by: by.sub, at: ctx.now, tags: added }] : [],
  };
}

function escalate(
  state: TicketState,
  status: TicketStatus,
  cmd: CommandOf<"escalate">,
  ctx: DecideContext,
): Outcome {
  const { by } = cmd;
  if (!isAgent(by)) return forbidden("only agents escalate tickets");
  const max = ticketLimits.maxEscalationLevel;
  if (!Number.isInteger(cmd.level) || cmd.level < 1 || cmd.level > max) {
    return validation("level", `level must be an integer from 1 to ${max}`);
  }
  const reason = text(cmd.reason, "reason", ticketLimits.reasonChars, true);
  if (isRefusal(reason)) return reason;
  const refused = requireOpen(status, "escalate");
  if (refused) return refused;
  if (cmd.level <= state.escalationLevel) {
    return reject(
      "already_escalated",
      `ticket is already at escalation level ${state.escalationLevel}`,
      { details: { level: state.escalationLevel } },
    );
  }
  return {
    events: [{
      type: "escalated",
      by: by.sub,
      at: ctx.now,
      from: state.escalationLevel,
      level: cmd.level,
      reason,
    }],
  };
}

function resolve(
  state: TicketState,
  status: TicketStatus,
  by: Caller,
  ctx: DecideContext,
): Outcome {
  if (!isAgent(by)) return forbidden("only agents resolve tickets");
  const refused = requireOpen(status, "resolve");
  if (refused) return refused;
  if (status === "new") return invalidTransition(status, "resolve");
  const notTheirs = unlessAssigneeOrManager(state, by, "resolves a ticket");
  if (notTheirs) return notTheirs;
  return { events: moveTo(status, "resolved", by, ctx) };
}

function close(state: TicketState, status: TicketStatus, by: Caller, ctx: DecideContext): Outcome {
  if (!isAgent(by)) return forbidden("only agents close tickets");
  if (status === "closed") return closedRefusal();
  if (status !== "resolved" && !isManager(by)) {
    return forbidden("only supervisors and admins close a ticket that is not resolved");
  }
  const notTheirs = status === "resolved"
    ? unlessAssigneeOrManager(state, by, "closes a ticket")
    : null;
  if (notTheirs) return notTheirs;
  return { events: moveTo(status, "closed", by, ctx) };
}

function reopen(state: TicketState, status: TicketStatus, by: Caller, ctx: DecideContext): Outcome {
  if (isVisitor(by) && state.requester !== by.sub) {
    return forbidden("visitors reopen their own tickets only");
  }
  if (status !== "resolved" && status !== "closed") return invalidTransition(status, "reopen");
  if (status === "closed") {
    const until = (state.closedAt ?? 0) + ctx.tenant.reopenWindowMinutes * MINUTE;
    if (ctx.now > until) {
      return reject("ticket_closed", "ticket is closed and its reopen window has passed", {
        details: { closedAt: state.closedAt, reopenableUntil: until },
      });
    }
  }
  return { events: moveTo(status, state.assignee === null ? "new" : "assigned", by, ctx) };
}

/** A due SLA timer breaches its clock; one that no longer matches a wanted timer is stale. */
function onTimer(state: TicketState, cmd: TimerCommand, ctx: DecideContext): Outcome {
  const wanted = timers(state).some((timer) => timer.name === cmd.name && timer.at === cmd.at);
  if (!wanted) return { events: [] };
  const clock: SlaClock = cmd.name === TIMER_NAMES.first_response ? "first_response" : "resolution";
  const events: TicketEvent[] = [
    { type: "sla_breached", by: systemSub, at: ctx.now, clock, dueAt: cmd.at },
  ];
  if (state.escalationLevel < ticketLimits.maxEscalationLevel) {
    events.push({
      type: "escalated",
      by: systemSub,
      at: ctx.now,
      from: state.escalationLevel,
      level: state.escalationLevel + 1,
      reason: `${cmd.name} breached`,
    });
  }
  return { events };
}

function commented(
  by: Caller,
  ctx: DecideContext,
  visibility: "public" | "internal",
  body: string,
): TicketEvent {
  return { type: "commented", by: by.sub, at: ctx.now, role: by.role, visibility, body };
}

function targets(ctx: DecideContext, priority: Priority): SlaTargets {
  const { firstResponseMinutes, resolutionMinutes } = ctx.tenant.sla[priority];
  return { firstResponseMinutes, resolutionMinutes };
}
