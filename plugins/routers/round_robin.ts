/**
 * The round-robin router: the online candidate with room who was assigned
 * least recently (never assigned comes first). Its position in the rotation
 * comes from each candidate's `lastAssignedAt`, so it keeps no state and
 * gives the same answer for the same input.
 *
 * @module
 */
import type { Candidate, Decision, RouteInput, RoutingPlugin } from "../sdk.ts";
import { idleLongestFirst, waitForRoom, withRoom } from "./_candidates.ts";

/** Route to the candidate with room whose last assignment is the oldest. */
export function routeRoundRobin(input: RouteInput): Decision {
  const [next] = withRoom(input).sort((a, b) =>
    assignedAt(a) - assignedAt(b) || idleLongestFirst(a, b)
  );
  if (!next) return waitForRoom(input.item.kind);
  const when = next.lastAssignedAt === null ? "never assigned" : "assigned least recently";
  return { assign: next.id, reason: `round robin: ${when}` };
}

function assignedAt(candidate: Candidate): number {
  return candidate.lastAssignedAt ?? -Infinity;
}

/** The built-in `round-robin` router. */
export const roundRobin: RoutingPlugin = {
  name: "round-robin",
  version: "builtin",
  route: routeRoundRobin,
};
