// The queue's decisions: each command checked against the state, answered
// with events or a refusal, and the timers the state wants.
import { type DecideContext, reject, type TimerCommand, type TimerSpec } from "./decider.ts";
import {
  type AgentState,
  type ItemInput,
  type ItemRef,
  type LeaveReason,
  leaveReasons,
  type Offer,
  type QueueCommand,
  type QueueEvent,
  type QueueItem,
  queueLimits,
  type QueueState,
} from "./_queue_types.ts";
import { isRefusal, type Refusal, validation } from "./_validation.ts";
import * as input from "./_queue_input.ts";
import { heldBy, itemKey, waitingCount } from "./_queue_work.ts";
import { awaitsRelaxation, indexOf } from "./_queue_index.ts";
import { itemAt } from "./_queue_items.ts";
import { type CommandOf, type Outcome, settings } from "./_queue_rules.ts";
import { answerOffer, routeDecision } from "./_queue_assign.ts";

const TIMER = { offer: "offer:", relax: "relax:", release: "release:" } as const;

/** Reasons that hand the item to an agent, named by `agent`. */
const TO_AGENT: ReadonlySet<LeaveReason> = new Set(["claimed", "assigned", "transferred"]);

/** Decide a queue command; see {@linkcode queueDecider}. */
export function decide(
  state: QueueState,
  command: QueueCommand | TimerCommand,
  ctx: DecideContext,
): Outcome {
  switch (command.type) {
    case "timer":
      return onTimer(state, command, ctx);
    case "arrive":
      return arrive(state, command, ctx);
    case "leave":
      return leave(state, command, ctx);
    case "requeue":
      return requeue(state, command, ctx);
    case "availability":
      return availability(state, command, ctx);
    case "agent_gone":
      return agentGone(state, command, ctx);
    case "route_decision":
      return routeDecision(state, command, ctx);
    case "accept":
    case "decline":
      return answerOffer(state, command, ctx);
    case "backlog_drained":
      return backlogDrained(state, command, ctx);
    default:
      // Commands arrive over the wire, so the union is a hope, not a guarantee.
      return reject(
        "invalid_command",
        `unknown queue command "${(command as { type: string }).type}"`,
        { field: "type" },
      );
  }
}

function arrive(state: QueueState, cmd: CommandOf<"arrive">, ctx: DecideContext): Outcome {
  const item = arrival(state, cmd.item, ctx);
  if (isRefusal(item)) return item;
  if (itemAt(state.items, itemKey(item))) return { events: [] };
  const { maxWaiting } = settings(ctx);
  if (waitingCount(state) >= maxWaiting) {
    // A ticket is durable where it is; a visitor should hear there is no room.
    if (item.kind === "ticket") {
      return { events: [{ type: "backlogged", at: ctx.now, item: itemRef(item) }] };
    }
    return reject("queue_full", `the queue already has ${maxWaiting} items waiting`, {
      details: { maxWaiting },
    });
  }
  return { events: [{ type: "arrived", at: ctx.now, item }] };
}

function itemRef(item: ItemRef): ItemRef {
  return { kind: item.kind, id: item.id };
}

function backlogDrained(
  state: QueueState,
  cmd: CommandOf<"backlog_drained">,
  ctx: DecideContext,
): Outcome {
  if (!Number.isSafeInteger(cmd.generation) || cmd.generation < 0) {
    return validation("generation", "generation must be a whole number");
  }
  const { backlog } = state;
  // A ticket overflowed since the runtime looked: its backlog is not empty.
  if (!backlog?.open || backlog.generation !== cmd.generation) return { events: [] };
  return { events: [{ type: "backlog_drained", at: ctx.now, generation: cmd.generation }] };
}

function arrival(
  state: QueueState,
  raw: unknown,
  ctx: DecideContext,
): Omit<QueueItem, "holder"> | Refusal {
  const ref = input.itemRef(raw, "item");
  if (isRefusal(ref)) return ref;
  const item = raw as ItemInput;
  const priority = input.priority(item.priority, "item.priority");
  if (isRefusal(priority)) return priority;
  const tags = input.names(item.tags, "item.tags", queueLimits.tags);
  if (isRefusal(tags)) return tags;
  if (item.skills !== undefined && (typeof item.skills !== "object" || item.skills === null)) {
    return validation("item.skills", "item.skills must be an object");
  }
  const required = input.names(item.skills?.required, "item.skills.required", queueLimits.skills);
  if (isRefusal(required)) return required;
  const optional = input.names(item.skills?.optional, "item.skills.optional", queueLimits.skills);
  if (isRefusal(optional)) return optional;
  const language = input.optionalId(item.language, "item.language");
  if (isRefusal(language)) return language;
  const team = input.optionalId(item.team, "item.team");
  if (isRefusal(team)) return team;
  const previousAgent = input.optionalId(item.previousAgent, "item.previousAgent");
  if (isRefusal(previousAgent)) return previousAgent;
  const visitor = input.optionalId(item.visitor, "item.visitor");
  if (isRefusal(visitor)) return visitor;
  return {
    ...ref,
    priority,
    tags,
    skills: { required, optional },
    language,
    team,
    arrivedAt: ctx.now,
    // A returning visitor's chat goes to whoever served them last, for sticky routers.
    previousAgent: previousAgent ?? (visitor === null ? null : lastAgentOf(state, visitor)),
    visitor,
    releasedFrom: null,
    relaxation: settings(ctx).relaxation.map((step) => ({ ...step }))
      .sort((a, b) => a.afterMs - b.afterMs),
    relaxed: 0,
    passed: [],
    escalated: null,
  };
}

function lastAgentOf(state: QueueState, visitor: string): string | null {
  const last = state.lastAgents ?? {};
  return Object.hasOwn(last, visitor) ? last[visitor].agent : null;
}

function leave(state: QueueState, cmd: CommandOf<"leave">, ctx: DecideContext): Outcome {
  const ref = input.itemRef(cmd.item, "item");
  if (isRefusal(ref)) return ref;
  if (!(leaveReasons as readonly string[]).includes(cmd.reason)) {
    return validation("reason", `reason must be one of ${leaveReasons.join(", ")}`);
  }
  const known = itemAt(state.items, itemKey(ref));
  if (!TO_AGENT.has(cmd.reason)) {
    return known
      ? { events: [{ type: "left", at: ctx.now, item: ref, reason: cmd.reason, agent: null }] }
      : { events: [] };
  }
  const agent = input.id(cmd.agent, "agent");
  if (isRefusal(agent)) return agent;
  if (known?.holder === agent) return { events: [] };
  const events: QueueEvent[] = [{
    type: "left",
    at: ctx.now,
    item: ref,
    reason: cmd.reason,
    agent,
  }];
  // Work handed to a gone agent gets the same grace as what it held when it went.
  if (state.agents[agent]?.status === "offline") {
    const releaseAt = ctx.now + settings(ctx).releaseAfterSeconds * 1000;
    events.push({ type: "agent_gone", at: ctx.now, agent, releaseAt });
  }
  return { events };
}

function requeue(state: QueueState, cmd: CommandOf<"requeue">, ctx: DecideContext): Outcome {
  const ref = input.itemRef(cmd.item, "item");
  if (isRefusal(ref)) return ref;
  const team = cmd.team === undefined ? undefined : input.optionalId(cmd.team, "team");
  if (isRefusal(team)) return team;
  const known = itemAt(state.items, itemKey(ref));
  // An item the queue does not know arrives instead; the caller sends `arrive` too.
  if (!known || (known.holder === null && (team === undefined || team === known.team))) {
    return { events: [] };
  }
  const event: QueueEvent = {
    type: "requeued",
    at: ctx.now,
    item: ref,
    from: known.holder,
    team: team === undefined ? known.team : team,
  };
  return { events: [event] };
}

function availability(
  state: QueueState,
  cmd: CommandOf<"availability">,
  ctx: DecideContext,
): Outcome {
  const agent = input.id(cmd.agent, "agent");
  if (isRefusal(agent)) return agent;
  const status = input.status(cmd.status, "status");
  if (isRefusal(status)) return status;
  const known = state.agents[agent];
  const profile = {
    skills: listOr(cmd.skills, "skills", queueLimits.skills, known?.skills),
    languages: listOr(cmd.languages, "languages", queueLimits.languages, known?.languages),
    teams: listOr(cmd.teams, "teams", queueLimits.teams, known?.teams),
  };
  for (const value of Object.values(profile)) if (isRefusal(value)) return value;
  if (cmd.capacity !== undefined && (typeof cmd.capacity !== "object" || cmd.capacity === null)) {
    return validation("capacity", "capacity must be an object");
  }
  const base = known?.capacity ?? settings(ctx).capacity;
  const chats = cmd.capacity?.chats === undefined
    ? base.chats
    : input.capacity(cmd.capacity.chats, "capacity.chats");
  if (isRefusal(chats)) return chats;
  const tickets = cmd.capacity?.tickets === undefined
    ? base.tickets
    : input.capacity(cmd.capacity.tickets, "capacity.tickets");
  if (isRefusal(tickets)) return tickets;
  if (!known && Object.keys(state.agents).length >= queueLimits.agents) {
    return reject("too_many_agents", `a queue tracks at most ${queueLimits.agents} agents`);
  }
  const releaseAt = status !== "offline"
    ? null
    : known?.releaseAt ?? ctx.now + settings(ctx).releaseAfterSeconds * 1000;
  const next: Omit<AgentState, "lastAssignedAt"> = {
    id: agent,
    status,
    capacity: { chats, tickets },
    skills: profile.skills as string[],
    languages: profile.languages as string[],
    teams: profile.teams as string[],
    releaseAt,
  };
  if (known && sameProfile(known, next)) return { events: [] };
  return { events: [{ type: "availability_changed", at: ctx.now, ...next }] };
}

function listOr(
  value: unknown,
  field: string,
  max: number,
  fallback: string[] | undefined,
): string[] | Refusal {
  return value === undefined ? [...(fallback ?? [])] : input.names(value, field, max);
}

function sameProfile(known: AgentState, next: Omit<AgentState, "lastAssignedAt">): boolean {
  const { lastAssignedAt: _, ...rest } = known;
  return JSON.stringify(rest) === JSON.stringify(next);
}

function agentGone(state: QueueState, cmd: CommandOf<"agent_gone">, ctx: DecideContext): Outcome {
  const agent = input.id(cmd.agent, "agent");
  if (isRefusal(agent)) return agent;
  const known = state.agents[agent];
  if (!known || known.status === "offline") return { events: [] };
  const releaseAt = ctx.now + settings(ctx).releaseAfterSeconds * 1000;
  return { events: [{ type: "agent_gone", at: ctx.now, agent, releaseAt }] };
}

type TimerAction =
  | { type: "offer"; offer: Offer }
  | { type: "relax"; item: QueueItem }
  | { type: "release"; agent: string };

/**
 * Every deadline the state holds, each with what it does when due: offers,
 * relaxation of waiting items, and the release of what a gone agent holds.
 */
export function wantedTimers(state: QueueState): (TimerSpec & { action: TimerAction })[] {
  const wanted: (TimerSpec & { action: TimerAction })[] = [];
  for (const [key, offer] of Object.entries(state.offers)) {
    wanted.push({ name: TIMER.offer + key, at: offer.deadline, action: { type: "offer", offer } });
  }
  const { waiting, held, relaxing } = indexOf(state);
  for (const item of relaxing > 0 ? [...waiting.chat, ...waiting.ticket] : []) {
    if (!awaitsRelaxation(item)) continue;
    const key = itemKey(item);
    if (state.offers[key]) continue;
    const at = item.arrivedAt + item.relaxation[item.relaxed].afterMs;
    wanted.push({ name: TIMER.relax + key, at, action: { type: "relax", item } });
  }
  for (const agent of Object.values(state.agents)) {
    if (agent.releaseAt === null || !held.has(agent.id)) continue;
    const action: TimerAction = { type: "release", agent: agent.id };
    wanted.push({ name: TIMER.release + agent.id, at: agent.releaseAt, action });
  }
  return wanted;
}

/** A due timer acts only if the state still wants it, so stale and repeated ones do nothing. */
function onTimer(state: QueueState, cmd: TimerCommand, ctx: DecideContext): Outcome {
  const due = wantedTimers(state).find((timer) => timer.name === cmd.name && timer.at === cmd.at);
  if (!due) return { events: [] };
  const { action } = due;
  const at = ctx.now;
  if (action.type === "offer") {
    const { item, agent } = action.offer;
    const events: QueueEvent[] = [{ type: "offer_expired", at, item, agent }];
    if (state.agents[agent]?.status === "online") {
      events.push({ type: "agent_away", at, agent, reason: "offer_timeout" });
    }
    return { events };
  }
  if (action.type === "relax") {
    const { item } = action;
    const waited = at - item.arrivedAt;
    const due = item.relaxation.filter((step) => step.afterMs <= waited).length;
    const step = Math.max(due, item.relaxed + 1) - 1;
    return { events: [{ type: "relaxed", at, item: { kind: item.kind, id: item.id }, step }] };
  }
  return {
    events: [{ type: "released", at, agent: action.agent, items: heldBy(state, action.agent) }],
  };
}
