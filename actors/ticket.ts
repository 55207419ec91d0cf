/**
 * The ticket actor: a pure decider for one support ticket.
 *
 * @module
 */
import { projectionOf } from "./_projection.ts";
import type { Explanation } from "./queue.ts";
import { type RouteCommand, routeOutcome } from "./_queue_effects.ts";
import { ticketQueueEffects } from "./_ticket_queue.ts";
import {
  type Caller,
  type DecideContext,
  type Decider,
  type Decision,
  type Priority,
  reject,
  systemSub,
  type TimerCommand,
  type TimerSpec,
} from "./decider.ts";
import {
  forbidden,
  isAgent,
  isManager,
  isRefusal,
  isVisitor,
  type Refusal,
  text,
  validation,
} from "./_validation.ts";

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

const TIMER_NAMES: Record<SlaClock, string> = {
  first_response: "sla.first_response",
  resolution: "sla.resolution",
};
const PRIORITIES: readonly Priority[] = ["low", "normal", "high", "urgent"];
const OPEN: ReadonlySet<string> = new Set(["new", "assigned", "in_progress", "pending"]);
const MINUTE = 60_000;

type Outcome = Decision<TicketEvent>;

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

function decide(
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
type CommandOf<T extends TicketCommand["type"]> = Extract<TicketCommand, { type: T }>;

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
  const team = cmd.team === undefined ? null : text(cmd.team, "team", ticketLimits.teamChars, true);
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

/** The first claim wins; every later one learns who owns the ticket. */
function claim(state: TicketState, status: TicketStatus, by: Caller, ctx: DecideContext): Outcome {
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

function assign(
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
function route(
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

function transfer(
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
  if (!isManager(by) && state.assignee !== null && state.assignee !== by.sub) {
    return forbidden("only the assignee, a supervisor or an admin transfers an assigned ticket");
  }
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

function unassign(
  state: TicketState,
  status: TicketStatus,
  by: Caller,
  ctx: DecideContext,
): Outcome {
  if (!isAgent(by)) return forbidden("only agents unassign tickets");
  const refused = requireOpen(status, "unassign");
  if (refused) return refused;
  if (state.assignee === null) return invalidTransition(status, "unassign");
  if (!isManager(by) && state.assignee !== by.sub) {
    return forbidden("only the assignee, a supervisor or an admin unassigns a ticket");
  }
  return {
    events: [
      { type: "unassigned", by: by.sub, at: ctx.now, agent: state.assignee },
      ...moveTo(status, "new", by, ctx),
    ],
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
  if (!isManager(by) && state.assignee !== by.sub) {
    return forbidden("only the assignee, a supervisor or an admin resolves a ticket");
  }
  return { events: moveTo(status, "resolved", by, ctx) };
}

function close(state: TicketState, status: TicketStatus, by: Caller, ctx: DecideContext): Outcome {
  if (!isAgent(by)) return forbidden("only agents close tickets");
  if (status === "closed") return closedRefusal();
  if (status !== "resolved" && !isManager(by)) {
    return forbidden("only supervisors and admins close a ticket that is not resolved");
  }
  if (status === "resolved" && !isManager(by) && state.assignee !== by.sub) {
    return forbidden("only the assignee, a supervisor or an admin closes a ticket");
  }
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

function evolve(state: TicketState, event: TicketEvent): TicketState {
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

function timers(state: TicketState): TimerSpec[] {
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

function firstResponseDueAt(state: TicketState): number {
  return state.createdAt + state.sla.firstResponseMinutes * MINUTE;
}

/** While the clock is paused this is the deadline as of the pause; resuming moves it later. */
function resolutionDueAt(state: TicketState): number {
  return state.createdAt + state.sla.resolutionMinutes * MINUTE + state.sla.pausedMs;
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

function clockRuns(status: TicketStatus): boolean {
  return status === "new" || status === "assigned" || status === "in_progress";
}

function statusForNewAssignee(status: TicketStatus): TicketStatus {
  return status === "pending" ? "pending" : "assigned";
}

function moveTo(from: TicketStatus, to: TicketStatus, by: Caller, ctx: DecideContext) {
  return from === to
    ? []
    : [{ type: "status_changed" as const, by: by.sub, at: ctx.now, from, to }];
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

/** Refuse commands that need an open ticket. */
function requireOpen(status: TicketStatus, command: string): Refusal | null {
  if (status === "closed") return closedRefusal();
  if (status === "resolved") return invalidTransition(status, command);
  return null;
}

function transferTarget(to: unknown): { agent: string } | { team: string } | Refusal {
  if (typeof to === "object" && to !== null && "agent" in to) {
    const agent = text(to.agent, "to.agent", ticketLimits.idChars, true);
    return isRefusal(agent) ? agent : { agent };
  }
  if (typeof to === "object" && to !== null && "team" in to) {
    const team = text(to.team, "to.team", ticketLimits.teamChars, true);
    return isRefusal(team) ? team : { team };
  }
  return validation("to", "to must name an agent or a team");
}

function priorityOf(value: unknown): Priority | Refusal {
  return PRIORITIES.includes(value as Priority)
    ? value as Priority
    : validation("priority", `priority must be one of ${PRIORITIES.join(", ")}`);
}

/** Trim, lowercase and dedupe; refuse empty or over-long tags and too many of them. */
function normalizeTags(value: unknown): string[] | Refusal {
  if (!Array.isArray(value)) return validation("tags", "tags must be a list of strings");
  const tags: string[] = [];
  for (const raw of value) {
    if (typeof raw !== "string") return validation("tags", "tags must be a list of strings");
    const tag = text(raw, "tags", ticketLimits.tagChars, true);
    if (isRefusal(tag)) return tag;
    const lower = tag.toLowerCase();
    if (!tags.includes(lower)) tags.push(lower);
  }
  if (tags.length > ticketLimits.tags) {
    return validation("tags", `a ticket has at most ${ticketLimits.tags} tags`);
  }
  return tags;
}

function closedRefusal(): Refusal {
  return reject("ticket_closed", "ticket is closed");
}

function invalidTransition(from: TicketStatus, command: string): Refusal {
  return reject("invalid_transition", `${command} is not allowed while the ticket is ${from}`, {
    details: { from, command },
  });
}
