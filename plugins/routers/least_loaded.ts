/**
 * The least-loaded router: the online candidate with the largest free share
 * of its capacity for the item's kind; equal shares go to the agent idle
 * longest. It is also what every plugin falls back to.
 *
 * @module
 */
import type { Decision, RouteInput, RoutingPlugin } from "../sdk.ts";
import { freeShare, ranked, waitForRoom, withRoom } from "./_candidates.ts";

/** Route to the candidate with the most free capacity for the item's kind. */
export function routeLeastLoaded(input: RouteInput): Decision {
  const { kind } = input.item;
  const scores = ranked(withRoom(input), (candidate) => freeShare(candidate, kind));
  if (scores.length === 0) return waitForRoom(kind);
  return {
    assign: scores[0].agentId,
    reason: `least loaded: ${Math.round(scores[0].score * 100)}% of ${kind} capacity free`,
    scores,
  };
}

/** The built-in `least-loaded` router. */
export const leastLoaded: RoutingPlugin = {
  name: "least-loaded",
  version: "builtin",
  route: routeLeastLoaded,
};
