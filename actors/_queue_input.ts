// Checks of the queue's command fields, which arrive over the wire: each
// answers the clean value or a validation refusal naming the field.
import type { Priority } from "./decider.ts";
import type { AgentStatus, Explanation, ItemKind, ItemRef } from "./_queue_types.ts";
import { queueLimits } from "./_queue_types.ts";
import { isRefusal, type Refusal, text, validation } from "./_validation.ts";

const PRIORITIES: readonly Priority[] = ["low", "normal", "high", "urgent"];
const KINDS: readonly ItemKind[] = ["chat", "ticket"];
const STATUSES: readonly AgentStatus[] = ["online", "away", "offline"];

/** A reference to a chat or ticket. */
export function itemRef(value: unknown, field: string): ItemRef | Refusal {
  if (typeof value !== "object" || value === null) {
    return validation(field, `${field} must be an object`);
  }
  const raw = value as Record<string, unknown>;
  if (!KINDS.includes(raw.kind as ItemKind)) {
    return validation(`${field}.kind`, `${field}.kind must be chat or ticket`);
  }
  const id = text(raw.id, `${field}.id`, queueLimits.idChars, false);
  if (isRefusal(id)) return id;
  return { kind: raw.kind as ItemKind, id };
}

/** An id such as an agent's. */
export function id(value: unknown, field: string): string | Refusal {
  return text(value, field, queueLimits.idChars, false);
}

/** An optional id, null when absent. */
export function optionalId(value: unknown, field: string): string | null | Refusal {
  return value === undefined || value === null ? null : id(value, field);
}

/** A priority, `normal` when absent. */
export function priority(value: unknown, field: string): Priority | Refusal {
  if (value === undefined) return "normal";
  return PRIORITIES.includes(value as Priority)
    ? value as Priority
    : validation(field, `${field} must be one of ${PRIORITIES.join(", ")}`);
}

/** An agent status. */
export function status(value: unknown, field: string): AgentStatus | Refusal {
  return STATUSES.includes(value as AgentStatus)
    ? value as AgentStatus
    : validation(field, `${field} must be one of ${STATUSES.join(", ")}`);
}

/** A list of distinct short names (skills, tags, languages, teams), empty when absent. */
export function names(value: unknown, field: string, max: number): string[] | Refusal {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return validation(field, `${field} must be an array`);
  if (value.length > max) return validation(field, `${field} has at most ${max} entries`);
  const result: string[] = [];
  for (const entry of value) {
    const name = text(entry, field, queueLimits.nameChars, true);
    if (isRefusal(name)) return name;
    if (!result.includes(name)) result.push(name);
  }
  return result;
}

/** A capacity for one kind of work. */
export function capacity(value: unknown, field: string): number | Refusal {
  const max = queueLimits.capacity;
  return Number.isSafeInteger(value) && (value as number) >= 0 && (value as number) <= max
    ? value as number
    : validation(field, `${field} must be a whole number from 0 to ${max}`);
}

/**
 * Why the router decided as it did, kept with the assignment: the candidates
 * it scored, best first and at most {@linkcode queueLimits.explainedCandidates}.
 */
export function explanation(
  raw: Record<string, unknown>,
): Omit<Explanation, "reason"> | Refusal {
  const router = text(raw.router, "router", queueLimits.nameChars, false);
  if (isRefusal(router)) return router;
  const version = text(raw.version, "version", queueLimits.nameChars, false);
  if (isRefusal(version)) return version;
  const rule = text(raw.rule, "rule", queueLimits.ruleChars, false);
  if (isRefusal(rule)) return rule;
  const list = raw.candidates ?? [];
  if (!Array.isArray(list) || list.length > queueLimits.candidates) {
    return validation(
      "candidates",
      `candidates must be an array of at most ${queueLimits.candidates}`,
    );
  }
  const candidates: Explanation["candidates"] = [];
  for (const entry of list) {
    const candidate = entry as { id?: unknown; score?: unknown } | null;
    const agent = id(candidate?.id, "candidates.id");
    if (isRefusal(agent)) return agent;
    if (typeof candidate?.score !== "number" || !Number.isFinite(candidate.score)) {
      return validation("candidates.score", "candidates.score must be a finite number");
    }
    candidates.push({ id: agent, score: candidate.score });
  }
  candidates.sort((a, b) => b.score - a.score);
  return {
    router,
    version,
    rule,
    candidates: candidates.slice(0, queueLimits.explainedCandidates),
  };
}
