// What the built-in routers share: who has room, how full they are, and one
// deterministic order for equal scores.
import type { Candidate, CandidateScore, ItemKind, RouteInput, WaitDecision } from "../sdk.ts";

/** Whether `candidate` may take one more item of `kind` now. */
export function hasRoom(candidate: Candidate, kind: ItemKind): boolean {
  return candidate.status === "online" && candidate.load[kind] < candidate.capacity[kind];
}

/** The candidates that may take the item now. */
export function withRoom(input: RouteInput): Candidate[] {
  return input.candidates.filter((candidate) => hasRoom(candidate, input.item.kind));
}

/** The share of `candidate`'s capacity for `kind` still free, 0 to 1. */
export function freeShare(candidate: Candidate, kind: ItemKind): number {
  const capacity = candidate.capacity[kind];
  return capacity > 0 ? Math.max(0, capacity - candidate.load[kind]) / capacity : 0;
}

/** Orders the agent idle longest first, then by id, so that equal scores never depend on input order. */
export function idleLongestFirst(a: Candidate, b: Candidate): number {
  return b.idleSinceMs - a.idleSinceMs || compareIds(a.id, b.id);
}

/** `candidates` with their scores, best first; equal scores go to the agent idle longest. */
export function ranked(
  candidates: readonly Candidate[],
  score: (candidate: Candidate) => number,
): CandidateScore[] {
  return candidates
    .map((candidate) => ({ candidate, score: score(candidate) }))
    .sort((a, b) => b.score - a.score || idleLongestFirst(a.candidate, b.candidate))
    .map(({ candidate, score }) => ({ agentId: candidate.id, score }));
}

/** The answer when no candidate (`qualified`, e.g. " with the skill x") has room for the item. */
export function waitForRoom(kind: ItemKind, qualified = ""): WaitDecision {
  return { wait: { reason: `no online candidate${qualified} has room for a ${kind}` } };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
