/**
 * The sticky router: a returning visitor or a reopened ticket goes back to
 * its previous agent when that agent is a candidate with room; otherwise the
 * router named by the option `fallback` decides (`least-loaded` by default,
 * or `round-robin`, `skills-weighted`).
 *
 * @module
 */
import type { Decision, RouteInput, RoutingPlugin } from "../sdk.ts";
import { withRoom } from "./_candidates.ts";
import { routeLeastLoaded } from "./least_loaded.ts";
import { routeRoundRobin } from "./round_robin.ts";
import { routeSkillsWeighted } from "./skills_weighted.ts";

const fallbacks = {
  "least-loaded": routeLeastLoaded,
  "round-robin": routeRoundRobin,
  "skills-weighted": routeSkillsWeighted,
};

/** The routers sticky's option `fallback` may name. */
export const stickyFallbacks: readonly string[] = Object.keys(fallbacks);

/**
 * Route to `item.previousAgent` if it has room, else to the fallback router.
 *
 * @throws {RangeError} if the option `fallback` names no router in {@linkcode stickyFallbacks}
 */
export function routeSticky(input: RouteInput): Decision {
  const name = input.options.fallback ?? "least-loaded";
  if (typeof name !== "string" || !Object.hasOwn(fallbacks, name)) {
    throw new RangeError(`sticky: option fallback must be one of ${stickyFallbacks.join(", ")}`);
  }
  const previous = input.item.previousAgent;
  if (previous !== undefined && withRoom(input).some((candidate) => candidate.id === previous)) {
    return { assign: previous, reason: "sticky: the previous agent" };
  }
  const decision = fallbacks[name as keyof typeof fallbacks](input);
  const why = previous === undefined
    ? "no previous agent"
    : `previous agent ${previous} has no room`;
  return "assign" in decision
    ? { ...decision, reason: `sticky: ${why}; ${decision.reason}` }
    : decision;
}

/** The built-in `sticky` router. */
export const sticky: RoutingPlugin = {
  name: "sticky",
  version: "builtin",
  route: routeSticky,
};
