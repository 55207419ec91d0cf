// The check every plugin answer passes before the queue may act on it:
// whatever a plugin returns, the check never throws, and what it accepts
// names an online candidate with room and carries only known fields.
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import { checkDecision, sameDecision } from "../plugins/host/_decision.ts";
import { agent, hasRoomFor, input, routeInputArb } from "./_support/routing_inputs.ts";

const ids = ["a0", "a1", "a2", "a3", "nobody"];
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ minLength: 1001, maxLength: 1002 }),
);
const answerArb = fc.oneof(
  fc.anything(),
  fc.record(
    {
      assign: fc.oneof(fc.constantFrom(...ids), fc.anything()),
      reason: fc.oneof(text, fc.anything()),
      scores: fc.array(fc.record({ agentId: fc.constantFrom(...ids), score: fc.double() })),
      extra: fc.anything(),
    },
    { requiredKeys: ["assign"] },
  ),
  fc.record({
    wait: fc.oneof(
      fc.record({ reason: text, retryAfterMs: fc.oneof(fc.double(), fc.integer()) }, {
        requiredKeys: [],
      }),
      fc.anything(),
    ),
  }),
  fc.record({
    escalate: fc.oneof(
      fc.record({ reason: text, team: text }, { requiredKeys: [] }),
      fc.anything(),
    ),
  }),
);

Deno.test("checkDecision never throws, and accepts only sound decisions rebuilt from known fields", () => {
  fc.assert(
    fc.property(routeInputArb, answerArb, (given, answer) => {
      const checked = checkDecision(answer, given);
      if ("problem" in checked) return true;
      const { decision } = checked;
      const keys = Object.keys(decision).filter((key) => key !== "scores");
      assertEquals(keys.length, "assign" in decision && decision.reason !== undefined ? 2 : 1);
      for (const score of decision.scores ?? []) {
        assert(
          given.candidates.some((c) => c.id === score.agentId) && Number.isFinite(score.score),
        );
      }
      if ("assign" in decision) {
        const chosen = given.candidates.find((c) => c.id === decision.assign);
        assert(chosen && hasRoomFor(chosen, given.item.kind));
        assert(decision.reason === undefined || decision.reason.length <= 1000);
      }
      return true;
    }),
    { numRuns: 2_000 },
  );
});

Deno.test("checkDecision names what is wrong", () => {
  const given = input([agent("a"), agent("full", { load: { chat: 3, ticket: 0 } })]);
  const problem = (answer: unknown) => {
    const checked = checkDecision(answer, given);
    return "problem" in checked ? checked.problem : "accepted";
  };
  assertEquals(problem(null), "the decision is not an object");
  assertEquals(
    problem({ assign: "a", wait: {} }),
    "a decision has exactly one of assign, wait, escalate",
  );
  assertEquals(problem({ assign: "zed" }), 'assign names no candidate ("zed")');
  assertEquals(problem({ assign: "full" }), "agent full is not online with room for a chat");
  assertEquals(
    problem({ wait: { retryAfterMs: -1 } }),
    "wait.retryAfterMs is not a number of milliseconds under a day",
  );
  assertEquals(
    problem({ escalate: { team: 7 } }),
    "escalate.team is not a string of at most 1000 characters",
  );
  assertEquals(checkDecision({ wait: { reason: "later", junk: 1 }, junk: 2 }, given), {
    decision: { wait: { reason: "later" } },
  });
});

Deno.test("sameDecision: the same agent, both waits, or escalations to the same team", () => {
  assert(sameDecision({ assign: "a", reason: "x" }, { assign: "a" }));
  assert(!sameDecision({ assign: "a" }, { assign: "b" }));
  assert(sameDecision({ wait: {} }, { wait: { reason: "later" } }));
  assert(!sameDecision({ wait: {} }, { escalate: {} }));
  assert(sameDecision({ escalate: { team: "t" } }, { escalate: { team: "t", reason: "r" } }));
  assert(!sameDecision({ escalate: { team: "t" } }, { escalate: {} }));
});
