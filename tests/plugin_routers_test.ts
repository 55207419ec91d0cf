// The built-in routers: one case test every router passes (including sticky
// over each of its fallbacks), then what each one prefers.
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import type { Decision, RouteInput, RoutingPlugin } from "../plugins/sdk.ts";
import { builtinRouters, manual, stickyFallbacks } from "../plugins/routers/mod.ts";
import { routeLeastLoaded } from "../plugins/routers/least_loaded.ts";
import { routeRoundRobin } from "../plugins/routers/round_robin.ts";
import { matchShare, routeSkillsWeighted } from "../plugins/routers/skills_weighted.ts";
import { routeSticky } from "../plugins/routers/sticky.ts";
import { agent, hasRoomFor, input, item, routeInputArb } from "./_support/routing_inputs.ts";

// Only skills-weighted (nobody with room has the required skills) and manual
// (it never assigns) may leave an item waiting while someone has room.
const cases = [
  ...[...builtinRouters.values()].map((router) => ({ name: router.name, router, options: {} })),
  ...stickyFallbacks.map((fallback) => ({
    name: `sticky over ${fallback}`,
    router: builtinRouters.get("sticky")!,
    options: { fallback },
  })),
].map((c) => ({ ...c, mayWait: c.name.endsWith("skills-weighted") || c.name === "manual" }));

function decide(router: RoutingPlugin, given: RouteInput): Decision {
  const decision = router.route(given);
  assert(!(decision instanceof Promise), "built-ins answer synchronously");
  return decision;
}

for (const { name, router, options, mayWait } of cases) {
  Deno.test(`${name}: assigns only a known online candidate with room, and waits when nobody fits`, () => {
    fc.assert(
      fc.property(routeInputArb, (drawn) => {
        const given = { ...drawn, options };
        const decision = decide(router, given);
        const fits = given.candidates.some((c) => hasRoomFor(c, given.item.kind));
        if (!fits) return "wait" in decision;
        if (!("assign" in decision)) return mayWait && "wait" in decision;
        const chosen = given.candidates.find((c) => c.id === decision.assign);
        return chosen !== undefined && hasRoomFor(chosen, given.item.kind);
      }),
      { numRuns: 400 },
    );
  });

  Deno.test(`${name}: the same input, in any candidate order, gets the same decision`, () => {
    fc.assert(
      fc.property(routeInputArb, fc.infiniteStream(fc.nat()), (drawn, keys) => {
        const given = { ...drawn, options };
        const order = given.candidates.map((c) => ({ c, key: keys.next().value }));
        const shuffled = order.sort((a, b) => a.key - b.key).map(({ c }) => c);
        const first = decide(router, given);
        assertEquals(decide(router, given), first);
        const reordered = decide(router, { ...given, candidates: shuffled });
        assertEquals("assign" in reordered && reordered.assign, "assign" in first && first.assign);
      }),
      { numRuns: 200 },
    );
  });
}

Deno.test("skills-weighted assigns only agents with every required skill, and waits when none has room", () => {
  fc.assert(
    fc.property(routeInputArb, (given) => {
      const decision = routeSkillsWeighted(given);
      const skilled = given.candidates.filter((c) =>
        hasRoomFor(c, given.item.kind) &&
        given.item.requiredSkills.every((s) => c.skills.includes(s))
      );
      if (skilled.length === 0) return "wait" in decision;
      if (!("assign" in decision)) return false;
      return skilled.some((c) => c.id === decision.assign);
    }),
    { numRuns: 400 },
  );
});

Deno.test("round-robin: the never assigned first, then the one assigned least recently", () => {
  const never = agent("never");
  const old = agent("old", { lastAssignedAt: 1_000 });
  const recent = agent("recent", { lastAssignedAt: 2_000 });
  assertEquals(routeRoundRobin(input([recent, never, old])), {
    assign: "never",
    reason: "round robin: never assigned",
  });
  assertEquals(routeRoundRobin(input([recent, old])), {
    assign: "old",
    reason: "round robin: assigned least recently",
  });
  const full = agent("old", { lastAssignedAt: 1_000, load: { chat: 3, ticket: 0 } });
  assertEquals(routeRoundRobin(input([recent, full])), {
    assign: "recent",
    reason: "round robin: assigned least recently",
  });
});

Deno.test("round-robin: assigning in turn, each agent's next assignment waits for all the others'", () => {
  let agents = ["a", "b", "c"].map((id) => agent(id, { capacity: { chat: 100, ticket: 0 } }));
  const picks: string[] = [];
  for (let at = 1; at <= 9; at++) {
    const decision = routeRoundRobin(input(agents));
    assert("assign" in decision);
    picks.push(decision.assign);
    agents = agents.map((a) => a.id === decision.assign ? { ...a, lastAssignedAt: at } : a);
  }
  assertEquals(picks, ["a", "b", "c", "a", "b", "c", "a", "b", "c"]);
});

Deno.test("least-loaded: the largest free share of capacity for the item's kind", () => {
  const busy = agent("busy", { load: { chat: 2, ticket: 0 }, idleSinceMs: 5_000 });
  const big = agent("big", { load: { chat: 2, ticket: 0 }, capacity: { chat: 10, ticket: 10 } });
  const ticketsOnly = agent("tickets", { load: { chat: 0, ticket: 9 } });
  const decision = routeLeastLoaded(input([busy, big, ticketsOnly], item({ kind: "ticket" })));
  assert("assign" in decision);
  assertEquals(decision.assign, "busy");
  assertEquals(decision.scores?.map((s) => s.agentId), ["busy", "big", "tickets"]);
  const chat = routeLeastLoaded(input([busy, big, ticketsOnly]));
  assert("assign" in chat);
  assertEquals(chat.assign, "tickets");
});

Deno.test("least-loaded: equal loads go to the agent idle longest, away and full agents to nobody", () => {
  const decision = routeLeastLoaded(input([
    agent("short", { idleSinceMs: 1_000 }),
    agent("long", { idleSinceMs: 90_000 }),
    agent("away", { status: "away", idleSinceMs: 900_000 }),
  ]));
  assert("assign" in decision);
  assertEquals(decision.assign, "long");
  assertEquals(decision.scores?.map((s) => s.agentId), ["long", "short"]);
  const none = routeLeastLoaded(input([agent("full", { load: { chat: 3, ticket: 0 } })]));
  assertEquals(none, { wait: { reason: "no online candidate has room for a chat" } });
});

Deno.test("skills-weighted: skill match share times free capacity share", () => {
  const wanted = item({ requiredSkills: ["billing"], optionalSkills: ["refunds"], language: "de" });
  const unskilled = agent("unskilled", { skills: ["refunds"], languages: ["de"] });
  const partial = agent("partial", { skills: ["billing"], languages: ["de"] });
  const full = agent("full", { skills: ["billing", "refunds"], languages: ["de"] });
  assertEquals(matchShare(wanted, partial), 0.5);
  assertEquals(matchShare(wanted, full), 1);
  assertEquals(matchShare(item(), unskilled), 1);
  const decision = routeSkillsWeighted(input([unskilled, partial, full], wanted));
  assert("assign" in decision);
  assertEquals(decision.assign, "full");
  assertEquals(decision.scores, [{ agentId: "full", score: 1 }, {
    agentId: "partial",
    score: 0.5,
  }]);
  // Two chats of three make the best match score 1 × 1/3, below the half match's 0.5 × 1.
  const busy = { ...full, load: { chat: 2, ticket: 0 } };
  const weighed = routeSkillsWeighted(input([partial, busy], wanted));
  assert("assign" in weighed);
  assertEquals(weighed.assign, "partial");
  assertEquals(routeSkillsWeighted(input([unskilled], wanted)), {
    wait: { reason: "no online candidate with the skills billing has room for a chat" },
  });
});

Deno.test("sticky: the previous agent with room, else the fallback router, saying why", () => {
  const previous = agent("prev", { load: { chat: 2, ticket: 0 } });
  const other = agent("other", { lastAssignedAt: 5 });
  const neverAssigned = agent("zed");
  const returning = item({ previousAgent: "prev" });
  assertEquals(routeSticky(input([other, previous], returning)), {
    assign: "prev",
    reason: "sticky: the previous agent",
  });
  const full = { ...previous, load: { chat: 3, ticket: 0 } };
  const fallen = routeSticky(input([full, other, neverAssigned], returning));
  assert("assign" in fallen);
  assertEquals(fallen.assign, "other");
  assert(fallen.reason?.startsWith("sticky: previous agent prev has no room; least loaded"));
  const rotated = routeSticky(
    input([full, other, neverAssigned], returning, { fallback: "round-robin" }),
  );
  assertEquals(rotated, {
    assign: "zed",
    reason: "sticky: previous agent prev has no room; round robin: never assigned",
  });
  assertThrows(
    () => routeSticky(input([other], returning, { fallback: "random" })),
    RangeError,
    "option fallback must be one of",
  );
});

Deno.test("manual: every item waits for a hand claim, whoever has room", () => {
  fc.assert(
    fc.property(routeInputArb, (drawn) => "wait" in decide(manual, { ...drawn, options: {} })),
    { numRuns: 200 },
  );
});
