// The queue's assignment as sessions and tickets receive it, for decider tests.
import { systemSub } from "../../actors/decider.ts";
import type { Explanation, RouteCommand } from "../../actors/queue.ts";

/** An explanation as a built-in router gives it. */
export function explanationBy(router: string, score = 1): Explanation {
  return {
    router,
    version: "builtin",
    rule: `decided by ${router}`,
    candidates: [{ id: "alice", score }],
    reason: null,
  };
}

/** The `route` command an `assigned` of the queue sends. */
export function routeCommand(
  agent: string,
  explanation: Explanation,
  replaces: string | null = null,
): RouteCommand {
  return { type: "route", by: { sub: systemSub, role: "admin" }, agent, explanation, replaces };
}
