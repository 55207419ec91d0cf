// The queue's routing input in the shape of the plugin SDK, and a router's
// answer as the queue's route_decision command.
import type { Priority } from "../../actors/decider.ts";
import {
  type ItemRef,
  type QueueCommand,
  queueLimits,
  type RoutingInput,
} from "../../actors/queue.ts";
import type { RouteOutcome, RouteRequest } from "./routing.ts";

const PRIORITY: Record<Priority, number> = { low: -1, normal: 0, high: 1, urgent: 2 };

/** What the SDK's routers are asked for one piece of the queue's routable work. */
export function routeRequest(input: RoutingInput, now: number): RouteRequest {
  const { item } = input;
  return {
    item: {
      tenant: item.tenant,
      kind: item.kind,
      id: item.id,
      priority: PRIORITY[item.priority],
      tags: item.tags,
      requiredSkills: item.skills.required,
      optionalSkills: item.skills.optional,
      ...(item.language !== null && { language: item.language }),
      ...(item.team !== null && { team: item.team }),
      waitedMs: item.waitedMs,
      ...(item.previousAgent !== null && { previousAgent: item.previousAgent }),
    },
    candidates: input.candidates.map((candidate) => ({
      id: candidate.id,
      status: candidate.status,
      skills: candidate.skills,
      languages: candidate.languages,
      teams: candidate.teams,
      load: { chat: candidate.load.chats, ticket: candidate.load.tickets },
      capacity: { chat: candidate.capacity.chats, ticket: candidate.capacity.tickets },
      lastAssignedAt: candidate.lastAssignedAt,
      idleSinceMs: Math.max(0, now - (candidate.lastAssignedAt ?? 0)),
    })),
  };
}

/** A router's answer as the command the queue validates, with its explanation. */
export function routeDecision(item: ItemRef, outcome: RouteOutcome): QueueCommand {
  const { decision, router, fallback } = outcome;
  const rule = fallback
    ? `fallback to ${router.name} (${fallback.cause}: ${fallback.detail})`
    : `decided by ${router.name}`;
  const reason = "assign" in decision
    ? decision.reason
    : "wait" in decision
    ? decision.wait.reason
    : decision.escalate.reason;
  const base = { ...(reason !== undefined && { reason: clip(reason) }) };
  return {
    type: "route_decision",
    item,
    decision: "assign" in decision
      ? { assign: decision.assign, ...base }
      : "wait" in decision
      ? { wait: { ...decision.wait }, ...base }
      : { escalate: { ...decision.escalate }, ...base },
    router: clip(router.name, queueLimits.nameChars),
    version: clip(router.version, queueLimits.nameChars),
    candidates: (decision.scores ?? [])
      .filter((score) => Number.isFinite(score.score))
      .slice(0, queueLimits.candidates)
      .map((score) => ({ id: score.agentId, score: score.score })),
    rule: clip(rule),
  };
}

function clip(text: string, max: number = queueLimits.ruleChars): string {
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
