/**
 * The built-in routers, by name: what a tenant picks when it loads no plugin.
 *
 * @module
 */
import type { RoutingPlugin } from "../sdk.ts";
import { leastLoaded } from "./least_loaded.ts";
import { manual } from "./manual.ts";
import { roundRobin } from "./round_robin.ts";
import { skillsWeighted } from "./skills_weighted.ts";
import { sticky } from "./sticky.ts";

export { leastLoaded, manual, roundRobin, skillsWeighted, sticky };
export { stickyFallbacks } from "./sticky.ts";
export { hasRoom } from "./_candidates.ts";

/** Every built-in router, keyed by its name. */
export const builtinRouters: ReadonlyMap<string, RoutingPlugin> = new Map(
  [roundRobin, leastLoaded, skillsWeighted, sticky, manual].map((router) => [router.name, router]),
);
