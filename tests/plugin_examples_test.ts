// The example plugins: what each prefers, the case every router passes, and
// that each loads and serves in the sandbox as a tenant would upload it.
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import type { Decision, RouteInput, RoutingPlugin } from "../plugins/sdk.ts";
import vipFirst from "../plugins/examples/vip_first.ts";
import languageMatch from "../plugins/examples/language_match.ts";
import { PluginHost } from "../plugins/host/plugin_host.ts";
import { agent, hasRoomFor, input, item, routeInputArb } from "./_support/routing_inputs.ts";

const examples: [RoutingPlugin, URL][] = [
  [vipFirst, new URL("../plugins/examples/vip_first.ts", import.meta.url)],
  [languageMatch, new URL("../plugins/examples/language_match.ts", import.meta.url)],
];

function decide(plugin: RoutingPlugin, given: RouteInput): Decision {
  const decision = plugin.route(given);
  assert(!(decision instanceof Promise));
  return decision;
}

for (const [plugin] of examples) {
  Deno.test(`${plugin.name}: assigns only a known online candidate with room`, () => {
    fc.assert(
      fc.property(routeInputArb, (given) => {
        const decision = decide(plugin, given);
        if (!("assign" in decision)) return true;
        const chosen = given.candidates.find((c) => c.id === decision.assign);
        return chosen !== undefined && hasRoomFor(chosen, given.item.kind);
      }),
      { numRuns: 300 },
    );
  });
}

const team = [
  agent("junior", { experience: 3 }),
  agent("senior", { experience: 60 }),
  agent("busy-veteran", { experience: 120, load: { chat: 3, ticket: 0 } }),
];

Deno.test("vip-first: a VIP goes to the most experienced agent with room, others to the least", () => {
  const vip = decide(vipFirst, input(team, item({ tags: ["vip"] })));
  assertEquals(vip, {
    assign: "senior",
    reason: "vip: the most experienced agent with room (60 months)",
    scores: [{ agentId: "senior", score: 60 }, { agentId: "junior", score: 3 }],
  });
  const plain = decide(vipFirst, input(team));
  assert("assign" in plain);
  assertEquals(plain.assign, "junior");
});

Deno.test("vip-first: experience from the options' map and a tenant's own tag", () => {
  const options = { tag: "gold", experience: { junior: 200 } };
  const gold = decide(vipFirst, input(team, item({ tags: ["gold"] }), options));
  assert("assign" in gold);
  assertEquals(gold.assign, "junior");
  const vipTagOnly = decide(vipFirst, input(team, item({ tags: ["vip"] }), options));
  assert("assign" in vipTagOnly);
  assertEquals(vipTagOnly.assign, "senior");
  assertEquals(decide(vipFirst, input([team[2]], item({ tags: ["vip"] }))), {
    wait: { reason: "nobody has room for a chat" },
  });
});

const speakers = [
  agent("anna", { languages: ["de", "en"], load: { chat: 1, ticket: 0 } }),
  agent("bernd", { languages: ["de"], load: { chat: 2, ticket: 0 } }),
  agent("chloe", { languages: ["fr"] }),
];

Deno.test("language-match: a speaker of the item's language with the fewest items", () => {
  assertEquals(decide(languageMatch, input(speakers, item({ language: "de" }))), {
    assign: "anna",
    reason: "speaks de; fewest open chats",
  });
  const any = decide(languageMatch, input(speakers));
  assert("assign" in any);
  assertEquals(any.assign, "chloe");
});

Deno.test("language-match: nobody speaks it — wait, escalate or anyone, as the tenant chose", () => {
  const japanese = item({ language: "ja" });
  assertEquals(decide(languageMatch, input(speakers, japanese)), {
    wait: { reason: "nobody with room speaks ja" },
  });
  assertEquals(
    decide(languageMatch, input(speakers, japanese, { otherwise: "escalate", team: "intl" })),
    { escalate: { reason: "nobody with room speaks ja", team: "intl" } },
  );
  assertEquals(decide(languageMatch, input(speakers, japanese, { otherwise: "any" })), {
    assign: "chloe",
    reason: "nobody with room speaks ja; any agent with room",
  });
});

Deno.test("the examples load in the sandbox from their files and answer as when imported", async () => {
  const host = new PluginHost({ poolSize: 1 });
  try {
    for (const [plugin, file] of examples) {
      await host.load(plugin.name, "1.0.0", await Deno.readTextFile(file));
      host.activate(plugin.name, "1.0.0");
      const request = {
        item: item({ tags: ["vip"], language: "de" }),
        candidates: [...team, ...speakers],
      };
      const outcome = await host.route(plugin.name, request, { deadlineMs: 5_000 });
      assertEquals(outcome.router, { name: plugin.name, version: "1.0.0" });
      assertEquals(outcome.decision, decide(plugin, { ...request, options: {} }));
    }
  } finally {
    await host.close();
  }
});
