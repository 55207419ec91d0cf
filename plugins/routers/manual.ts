/**
 * The manual router: assigns nothing, so every chat and ticket waits in the
 * queue until an agent claims it by hand — for tenants whose agents pick
 * their own work. The queue still keeps positions, estimates and exact loads.
 *
 * @module
 */
import type { Decision, RoutingPlugin } from "../sdk.ts";

/** Leave the item waiting for a hand claim. */
export function routeManual(): Decision {
  return { wait: { reason: "manual routing: agents claim by hand" } };
}

/** The built-in `manual` router. */
export const manual: RoutingPlugin = {
  name: "manual",
  version: "builtin",
  route: routeManual,
};
