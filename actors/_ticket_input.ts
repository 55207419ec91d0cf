// Checks of the ticket's command fields, which arrive over the wire: each
// answers the clean value or a validation refusal naming the field.
import type { Priority } from "./decider.ts";
import { isRefusal, type Refusal, text, validation } from "./_validation.ts";
import { ticketLimits } from "./_ticket_types.ts";

const PRIORITIES: readonly Priority[] = ["low", "normal", "high", "urgent"];

/** Where a transfer sends the ticket: to an agent, or to a team's queue. */
export function transferTarget(to: unknown): { agent: string } | { team: string } | Refusal {
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

/** One of the priorities. */
export function priorityOf(value: unknown): Priority | Refusal {
  return PRIORITIES.includes(value as Priority)
    ? value as Priority
    : validation("priority", `priority must be one of ${PRIORITIES.join(", ")}`);
}

/** Trim, lowercase and dedupe; refuse empty or over-long tags and too many of them. */
export function normalizeTags(value: unknown): string[] | Refusal {
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
