// What a plugin's answer must be before the queue may act on it.
import type { CandidateScore, Decision, RouteInput } from "../sdk.ts";
import { hasRoom } from "../routers/mod.ts";

const maxReasonChars = 1_000;

/** A plugin's raw answer checked against its input: the decision, rebuilt from known fields only, or what is wrong. */
export type Checked = { decision: Decision } | { problem: string };

/** Check that `raw` is a well-formed decision whose agent is an online candidate with room. */
export function checkDecision(raw: unknown, input: RouteInput): Checked {
  if (!isRecord(raw)) return { problem: "the decision is not an object" };
  const kinds = ["assign", "wait", "escalate"].filter((key) => key in raw);
  if (kinds.length !== 1) {
    return { problem: "a decision has exactly one of assign, wait, escalate" };
  }
  const scores = checkScores(raw.scores, input);
  if (typeof scores === "string") return { problem: scores };
  const extra = scores ? { scores } : {};
  if ("assign" in raw) {
    const agent = raw.assign;
    const candidate = input.candidates.find((c) => c.id === agent);
    if (typeof agent !== "string" || !candidate) {
      return { problem: `assign names no candidate (${JSON.stringify(agent)?.slice(0, 80)})` };
    }
    if (!hasRoom(candidate, input.item.kind)) {
      return { problem: `agent ${agent} is not online with room for a ${input.item.kind}` };
    }
    const reason = optionalText(raw.reason, "reason");
    if (typeof reason === "object") return reason;
    return { decision: { assign: agent, ...(reason && { reason }), ...extra } };
  }
  if ("wait" in raw) {
    const wait = raw.wait;
    if (!isRecord(wait)) return { problem: "wait is not an object" };
    const reason = optionalText(wait.reason, "wait.reason");
    if (typeof reason === "object") return reason;
    const retry = wait.retryAfterMs;
    if (retry !== undefined && !(typeof retry === "number" && retry >= 0 && retry < 86_400_000)) {
      return { problem: "wait.retryAfterMs is not a number of milliseconds under a day" };
    }
    return {
      decision: {
        wait: { ...(reason && { reason }), ...(retry !== undefined && { retryAfterMs: retry }) },
        ...extra,
      },
    };
  }
  const escalate = raw.escalate;
  if (!isRecord(escalate)) return { problem: "escalate is not an object" };
  const reason = optionalText(escalate.reason, "escalate.reason");
  if (typeof reason === "object") return reason;
  const team = optionalText(escalate.team, "escalate.team");
  if (typeof team === "object") return team;
  return {
    decision: { escalate: { ...(reason && { reason }), ...(team && { team }) }, ...extra },
  };
}

/** Whether two decisions for the same input send the item the same way. */
export function sameDecision(a: Decision, b: Decision): boolean {
  if ("assign" in a) return "assign" in b && a.assign === b.assign;
  if ("wait" in a) return "wait" in b;
  return "escalate" in b && a.escalate.team === b.escalate.team;
}

function checkScores(raw: unknown, input: RouteInput): CandidateScore[] | undefined | string {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length > input.candidates.length) {
    return "scores is not a list of at most one score per candidate";
  }
  const known = new Set(input.candidates.map((c) => c.id));
  const scores: CandidateScore[] = [];
  for (const entry of raw) {
    if (
      !isRecord(entry) || typeof entry.agentId !== "string" || !known.has(entry.agentId) ||
      typeof entry.score !== "number" || !Number.isFinite(entry.score)
    ) {
      return "scores has an entry that is no {agentId of a candidate, finite score}";
    }
    scores.push({ agentId: entry.agentId, score: entry.score });
  }
  return scores;
}

function optionalText(raw: unknown, field: string): string | undefined | { problem: string } {
  if (raw === undefined) return undefined;
  if (typeof raw !== "string" || raw.length > maxReasonChars) {
    return { problem: `${field} is not a string of at most ${maxReasonChars} characters` };
  }
  return raw;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
