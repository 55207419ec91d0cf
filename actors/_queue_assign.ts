// Who gets a waiting item: the router's decision, checked against the item
// and the agent it names, and that agent's answer when the tenant offers
// work before assigning it.
import { type DecideContext, reject } from "./decider.ts";
import type { AgentState, ItemRef, QueueItem, QueueState } from "./_queue_types.ts";
import { queueLimits } from "./_queue_types.ts";
import { forbidden, isRefusal, optionalText, type Refusal, validation } from "./_validation.ts";
import * as input from "./_queue_input.ts";
import { itemKey, loads, relaxationUsed, unfitReason } from "./_queue_work.ts";
import { itemAt } from "./_queue_items.ts";
import { type CommandOf, type Outcome, settings } from "./_queue_rules.ts";

/**
 * A router's decision for a waiting item: an escalation, or the assignment
 * (an offer first, if the tenant offers) when the agent may take it, else
 * `route_refused` so the runtime asks again; nothing once the item is gone.
 */
export function routeDecision(
  state: QueueState,
  cmd: CommandOf<"route_decision">,
  ctx: DecideContext,
): Outcome {
  const ref = input.itemRef(cmd.item, "item");
  if (isRefusal(ref)) return ref;
  const decision = cmd.decision as Record<string, unknown> | null;
  const outcomes = ["assign", "wait", "escalate"].filter((key) => decision?.[key] !== undefined);
  if (typeof decision !== "object" || decision === null || outcomes.length !== 1) {
    return validation("decision", "decision must have exactly one of assign, wait or escalate");
  }
  const reason = optionalText(decision.reason, "decision.reason", queueLimits.ruleChars, false);
  if (isRefusal(reason)) return reason;
  const agentId = outcomes[0] === "assign" ? input.id(decision.assign, "decision.assign") : null;
  if (isRefusal(agentId)) return agentId;
  const explained = input.explanation(cmd as unknown as Record<string, unknown>);
  if (isRefusal(explained)) return explained;
  const key = itemKey(ref);
  const item = itemAt(state.items, key);
  // Stale: the item was claimed or closed while the router thought.
  if (!item || item.holder !== null || outcomes[0] === "wait") return { events: [] };
  if (agentId === null) {
    if (item.escalated !== null) return { events: [] };
    const why = reason ?? `escalated by ${explained.router}`;
    return { events: [{ type: "escalated", at: ctx.now, item: ref, reason: why }] };
  }
  if (item.escalated !== null) return refused(ref, agentId, "escalated");
  if (state.offers[key]) return refused(ref, agentId, "offer_outstanding");
  const agent = state.agents[agentId];
  if (!agent) return refused(ref, agentId, "unknown_agent");
  const unfit = unfitReason(item, agent, loads(state).get(agentId), ctx.now);
  if (unfit !== null) return refused(ref, agentId, unfit);
  const rule = relaxedRule(explained.rule, item, agent, ctx.now);
  const explanation = { ...explained, rule, reason };
  const { offerSeconds } = settings(ctx);
  if (offerSeconds > 0) {
    const deadline = ctx.now + offerSeconds * 1000;
    return {
      events: [{ type: "offered", at: ctx.now, item: ref, agent: agentId, deadline, explanation }],
    };
  }
  return {
    events: [{
      type: "assigned",
      at: ctx.now,
      item: ref,
      agent: agentId,
      via: "router",
      explanation,
    }],
  };
}

// An assignment the item's wait made possible says so, naming the step.
function relaxedRule(rule: string, item: QueueItem, agent: AgentState, now: number): string {
  const step = relaxationUsed(item, agent, now - item.arrivedAt);
  if (step === null) return rule;
  const dropped = step.drop === "required" ? "skills and language" : "optional skills";
  return `${rule}; relaxed after ${step.afterMs} ms: ${dropped} dropped`;
}

function refused(item: ItemRef, agent: string, reason: string): Refusal {
  return reject("route_refused", `${item.kind} ${item.id} cannot go to ${agent}: ${reason}`, {
    details: { reason, agent },
  });
}

/** An agent's answer to its offer: accepted, the item is theirs; declined, it waits for another. */
export function answerOffer(
  state: QueueState,
  cmd: CommandOf<"accept" | "decline">,
  ctx: DecideContext,
): Outcome {
  const ref = input.itemRef(cmd.item, "item");
  if (isRefusal(ref)) return ref;
  const by = input.id(cmd.by?.sub, "by.sub");
  if (isRefusal(by)) return by;
  const key = itemKey(ref);
  const offer = state.offers[key];
  if (!offer) {
    if (cmd.type === "accept" && itemAt(state.items, key)?.holder === by) return { events: [] };
    return reject("no_offer", `${ref.kind} ${ref.id} has no offer outstanding`);
  }
  if (offer.agent !== by) return forbidden("only the agent it was offered to answers an offer");
  if (cmd.type === "decline") {
    return { events: [{ type: "declined", at: ctx.now, item: ref, agent: by }] };
  }
  const { explanation } = offer;
  return {
    events: [{ type: "assigned", at: ctx.now, item: ref, agent: by, via: "offer", explanation }],
  };
}
