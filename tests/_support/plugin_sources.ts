// Plugin sources and requests for the sandboxed host's tests.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { RouteOutcome, RouteRequest } from "../../plugins/host/plugin_host.ts";
import { routeLeastLoaded } from "../../plugins/routers/least_loaded.ts";
import { agent, item } from "./routing_inputs.ts";

// Generous for calls that must succeed: the machine running the tests is
// shared, and a deadline missed there would be a false failure.
export const slack = { deadlineMs: 5_000 };

/** A plugin that assigns the first candidate, unless the item is tagged `attack`: then `attack` runs. */
export function plugin(attack: string, name = "p"): string {
  return `export default {
    name: ${JSON.stringify(name)},
    async route(input) {
      if (input.item.tags.includes("attack")) { ${attack} }
      return { assign: input.candidates[0].id, reason: "first" };
    },
  };`;
}

export const request = (tags: string[] = []): RouteRequest => ({
  item: item({ tags }),
  candidates: [
    agent("a", { load: { chat: 2, ticket: 0 } }),
    agent("b"),
    agent("full", { load: { chat: 3, ticket: 0 } }),
  ],
});

export function assertFellBack(outcome: RouteOutcome, causes: string[], detail = ""): void {
  assert(outcome.fallback, `expected a fallback, got ${JSON.stringify(outcome)}`);
  assert(
    causes.includes(outcome.fallback.cause),
    `cause ${outcome.fallback.cause}: ${outcome.fallback.detail}`,
  );
  assertStringIncludes(outcome.fallback.detail, detail);
  assertEquals(outcome.decision, routeLeastLoaded({ ...request(), options: {} }));
  assertEquals(outcome.router, { name: "least-loaded", version: "builtin" });
}
