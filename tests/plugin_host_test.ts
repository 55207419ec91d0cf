// The sandboxed plugin host with real child processes: hostile plugins fall
// back and leave the host serving, loads are validated, swaps are atomic,
// the breaker rests a failing plugin, shadows count agreement.
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import {
  maxSourceBytes,
  PluginError,
  PluginHost,
  type RouteOutcome,
  type RouteRequest,
} from "../plugins/host/plugin_host.ts";
import { routeLeastLoaded } from "../plugins/routers/least_loaded.ts";
import { agent, item } from "./_support/routing_inputs.ts";

// Generous for calls that must succeed: the machine running the tests is
// shared, and a deadline missed there would be a false failure.
const slack = { deadlineMs: 5_000 };

/** A plugin that assigns the first candidate, unless the item is tagged `attack`: then `attack` runs. */
function plugin(attack: string, name = "p"): string {
  return `export default {
    name: ${JSON.stringify(name)},
    async route(input) {
      if (input.item.tags.includes("attack")) { ${attack} }
      return { assign: input.candidates[0].id, reason: "first" };
    },
  };`;
}

const request = (tags: string[] = []): RouteRequest => ({
  item: item({ tags }),
  candidates: [
    agent("a", { load: { chat: 2, ticket: 0 } }),
    agent("b"),
    agent("full", { load: { chat: 3, ticket: 0 } }),
  ],
});

function assertFellBack(outcome: RouteOutcome, causes: string[], detail = ""): void {
  assert(outcome.fallback, `expected a fallback, got ${JSON.stringify(outcome)}`);
  assert(
    causes.includes(outcome.fallback.cause),
    `cause ${outcome.fallback.cause}: ${outcome.fallback.detail}`,
  );
  assertStringIncludes(outcome.fallback.detail, detail);
  assertEquals(outcome.decision, routeLeastLoaded({ ...request(), options: {} }));
  assertEquals(outcome.router, { name: "least-loaded", version: "builtin" });
}

const attacks: {
  name: string;
  code: string;
  causes: string[];
  detail?: string;
  deadlineMs?: number;
}[] = [
  { name: "spins forever", code: "while (true) {}", causes: ["timeout"], deadlineMs: 50 },
  {
    name: "allocates without end",
    code: "const hoard = []; while (true) hoard.push(new Array(1e6).fill(Math.random()));",
    causes: ["timeout", "crashed"],
    deadlineMs: 50,
  },
  {
    name: "never answers",
    code: "await new Promise(() => {});",
    causes: ["timeout"],
    deadlineMs: 50,
  },
  { name: "throws", code: 'throw new Error("boom");', causes: ["error"], detail: "Error: boom" },
  { name: "returns garbage", code: "return 42;", causes: ["invalid"], detail: "not an object" },
  { name: "returns two decisions", code: 'return { assign: "b", wait: {} };', causes: ["invalid"] },
  {
    name: "returns an unknown agent",
    code: 'return { assign: "mallory" };',
    causes: ["invalid"],
    detail: "no candidate",
  },
  {
    name: "returns an agent without room",
    code: 'return { assign: "full" };',
    causes: ["invalid"],
    detail: "with room",
  },
  {
    name: "returns bad scores",
    code: 'return { assign: "b", scores: [{ agentId: "b", score: "high" }] };',
    causes: ["invalid"],
  },
  {
    name: "tries fetch",
    code: 'await fetch("http://127.0.0.1:4222/");',
    causes: ["error"],
    detail: "NotCapable",
  },
  {
    name: "tries Deno.readFile",
    code: 'await Deno.readFile("/etc/hostname");',
    causes: ["error"],
    detail: "NotCapable",
  },
  {
    name: "tries Deno.env.get",
    code: 'Deno.env.get("HOME");',
    causes: ["error"],
    detail: "NotCapable",
  },
  {
    name: "tries Deno.Command",
    code: 'new Deno.Command("/bin/sh", { args: ["-c", "id"] }).spawn();',
    causes: ["error"],
    detail: "NotCapable",
  },
  {
    name: "tries to import a local file",
    code: 'await import("file:///etc/passwd");',
    causes: ["error"],
    detail: "read access",
  },
  {
    name: "tries to import npm",
    code: 'await import("npm:left-pad");',
    causes: ["error"],
    detail: "npm",
  },
  {
    name: "tries to import a remote module",
    code: 'await import("https://deno.land/std/version.ts");',
    causes: ["error"],
    detail: "remote",
  },
  {
    name: "answers with a huge reason",
    code: 'return { assign: "b", reason: "x".repeat(5_000) };',
    causes: ["invalid"],
    detail: "at most 1000 characters",
  },
  {
    name: "answers with megabytes",
    code: 'return { assign: "b", reason: "x".repeat(4e6) };',
    causes: ["crashed"],
    detail: "answer too large",
  },
  {
    name: "writes junk to stdout",
    code: 'Deno.stdout.writeSync(new TextEncoder().encode("junk\\n"));',
    causes: ["crashed"],
  },
  { name: "exits", code: "Deno.exit(0);", causes: ["crashed"] },
];

Deno.test("a plugin that misbehaves falls back to least-loaded, and the host keeps serving", async (t) => {
  const host = new PluginHost({ poolSize: 1 });
  try {
    await host.load("good", "1", plugin("", "good"));
    host.activate("good", "1");
    for (const [i, attack] of attacks.entries()) {
      await t.step(attack.name, async () => {
        await host.load(`bad${i}`, "1", plugin(attack.code));
        host.activate(`bad${i}`, "1");
        const deadline = { deadlineMs: attack.deadlineMs ?? slack.deadlineMs };
        assertFellBack(
          await host.route(`bad${i}`, request(["attack"]), deadline),
          attack.causes,
          attack.detail,
        );
        // The same version still serves ordinary calls (from a fresh child if its own was killed)…
        assertEquals((await host.route(`bad${i}`, request(), slack)).decision, {
          assign: "a",
          reason: "first",
        });
        // …and so does every other plugin.
        assertEquals((await host.route("good", request(), slack)).router, {
          name: "good",
          version: "1",
        });
        const [stats] = host.versions(`bad${i}`).map((v) => v.stats);
        assertEquals(stats.calls, 2);
        assertEquals(stats.fallbacks, 1);
      });
    }
  } finally {
    await host.close();
  }
});

Deno.test("a child left spinning in a timer after its answer is replaced before the next call", async () => {
  const host = new PluginHost({ poolSize: 1, idleCheckMs: 100 });
  try {
    await host.load(
      "timer",
      "1",
      plugin('setTimeout(() => { while (true) {} }, 0); return { assign: "b" };'),
    );
    host.activate("timer", "1");
    assertEquals((await host.route("timer", request(["attack"]), slack)).decision, { assign: "b" });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Had the spinning child been kept, this call would time out and fall back.
    const outcome = await host.route("timer", request(), slack);
    assertEquals(outcome.router, { name: "timer", version: "1" });
    assertEquals(host.versions("timer")[0].stats.timeouts, 0);
  } finally {
    await host.close();
  }
});

Deno.test("a call that finds every child busy past its deadline falls back, leaving the busy one be", async () => {
  const host = new PluginHost({ poolSize: 1 });
  try {
    const busyWait = "const until = performance.now() + 300; while (performance.now() < until) {}";
    await host.load("slow", "1", plugin(busyWait));
    host.activate("slow", "1");
    await host.route("slow", request(), slack);
    const slow = host.route("slow", request(["attack"]), slack);
    const hurried = await host.route("slow", request(), { deadlineMs: 50 });
    assertFellBack(hurried, ["timeout"], "no free child before the deadline");
    assertEquals((await slow).decision, { assign: "a", reason: "first" });
    const stats = host.versions("slow")[0].stats;
    assertEquals([stats.calls, stats.timeouts, stats.fallbacks], [3, 1, 1]);
  } finally {
    await host.close();
  }
});

Deno.test("load refuses a version that does not import, is no plugin or fails its probe", async () => {
  const host = new PluginHost({ poolSize: 1, loadTimeoutMs: 3_000 });
  const refused = async (code: string, source: string, message: string, options: unknown = {}) => {
    // Options reach the host from JSON, so anything may come: they are given untyped.
    const error = await assertRejects(
      () => host.load("p", "1", source, options as Record<string, never>),
      PluginError,
    );
    assertEquals(error.code, code);
    assertStringIncludes(error.message, message);
  };
  try {
    const refusals: [code: string, source: string, message: string, options?: unknown][] = [
      ["load_failed", "export default {", "does not load"],
      ["load_failed", "export const x = 1;", "no default export"],
      ["load_failed", 'export default { name: "p" };', "no `route` function"],
      ["load_failed", "export default { route() {} };", "no string `name`"],
      ["load_failed", 'await Deno.readFile("/etc/hostname"); export default {};', "NotCapable"],
      ["load_failed", 'import pad from "npm:left-pad"; export default pad;', "npm"],
      ["load_failed", "while (true) {} export default {};", "no answer within 3000 ms"],
      ["probe_failed", 'export default { name: "p", route: () => "yes" };', "not an object"],
      ["probe_failed", 'export default { name: "p", route() { while (true) {} } };', "deadline"],
      [
        "probe_failed",
        'export default { name: "p", route() { throw new TypeError("no"); } };',
        "TypeError: no",
      ],
      ["source_too_large", `/*${"x".repeat(maxSourceBytes)}*/`, "over 262144 bytes"],
      ["bad_options", plugin(""), "JSON object", [1, 2]],
    ];
    for (const [code, source, message, options] of refusals) {
      await refused(code, source, message, options);
    }
    const badName = await assertRejects(() => host.load("../p", "1", plugin("")), PluginError);
    assertEquals(badName.code, "bad_name");
    assertEquals(host.versions("p"), []);
    await host.load("p", "1", plugin(""));
    await refused("already_loaded", plugin(""), "already loaded");
    // A version being validated cannot serve yet: nothing ever runs on a half-loaded one.
    const loading = host.load("p", "2", plugin(""));
    const early = assertThrows(() => host.activate("p", "2"), PluginError, "p@2 is not loaded");
    assertEquals(early.code, "unknown_version");
    await loading;
    host.activate("p", "2");
    assertEquals(host.versions("p").map((v) => v.role), ["loaded", "active"]);
  } finally {
    await host.close();
  }
});

Deno.test("a plugin with no active version falls back, saying so", async () => {
  const host = new PluginHost();
  try {
    assertFellBack(await host.route("missing", request()), ["not-loaded"], "no active version");
  } finally {
    await host.close();
  }
});

/** A version whose every field says which version it is, after a few ms of work. */
function versioned(version: string): string {
  return `export default {
    name: "swap",
    route(input) {
      const until = performance.now() + 3;
      while (performance.now() < until) {}
      const agentId = input.candidates[1].id;
      return { assign: agentId, reason: ${
    JSON.stringify(version)
  }, scores: [{ agentId, score: ${version} }] };
    },
  };`;
}

Deno.test("hot swap under load: no call lost, each answered by the version it started on", async () => {
  const host = new PluginHost({ poolSize: 2 });
  try {
    await host.load("swap", "1", versioned("1"));
    await host.load("swap", "2", versioned("2"));
    host.activate("swap", "1");
    const before = Array.from(
      { length: 30 },
      () => host.route("swap", request(), { deadlineMs: 20_000 }),
    );
    host.activate("swap", "2");
    const after = Array.from(
      { length: 30 },
      () => host.route("swap", request(), { deadlineMs: 20_000 }),
    );
    const outcomes = await Promise.all([...before, ...after]);
    outcomes.forEach((outcome, i) => {
      const version = i < before.length ? "1" : "2";
      assertEquals(outcome, {
        decision: {
          assign: "b",
          reason: version,
          scores: [{ agentId: "b", score: Number(version) }],
        },
        router: { name: "swap", version },
      });
    });
    assertEquals(host.versions("swap").map((v) => [v.version, v.role, v.stats.calls]), [
      ["1", "loaded", 30],
      ["2", "active", 30],
    ]);
  } finally {
    await host.close();
  }
});

Deno.test("the circuit breaker rests a failing plugin, then lets a trial call close it", async () => {
  const host = new PluginHost({
    poolSize: 1,
    breaker: { failures: 3, windowMs: 60_000, cooldownMs: 300 },
  });
  try {
    await host.load("flaky", "1", plugin('throw new Error("boom");', "flaky"));
    host.activate("flaky", "1");
    for (let i = 0; i < 3; i++) {
      assertFellBack(await host.route("flaky", request(["attack"]), slack), ["error"]);
    }
    assertEquals(host.versions("flaky")[0].breaker, "open");
    // Open: even a call the plugin would answer goes to the fallback, without reaching the plugin.
    assertFellBack(
      await host.route("flaky", request(), slack),
      ["circuit-open"],
      "flaky@1 is resting",
    );
    assertEquals(host.versions("flaky")[0].stats.calls, 3);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals(host.versions("flaky")[0].breaker, "half-open");
    // A failed trial opens it again at once.
    assertFellBack(await host.route("flaky", request(["attack"]), slack), ["error"]);
    assertEquals(host.versions("flaky")[0].breaker, "open");
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals((await host.route("flaky", request(), slack)).router, {
      name: "flaky",
      version: "1",
    });
    assertEquals(host.versions("flaky")[0].breaker, "closed");
    const stats = host.versions("flaky")[0].stats;
    assertEquals([stats.calls, stats.errors, stats.fallbacks], [5, 4, 5]);
  } finally {
    await host.close();
  }
});

Deno.test("a shadow version runs beside the active one and counts agreement, and can be promoted", async () => {
  const host = new PluginHost({ poolSize: 1 });
  try {
    await host.load("s", "1", plugin("", "s"));
    // Agrees (first candidate) unless the item is tagged `attack`.
    await host.load("s", "2", plugin("return { assign: input.candidates[1].id };", "s"));
    host.activate("s", "1");
    host.shadow("s", "2");
    for (const tags of [[], [], ["attack"], []]) {
      assertEquals((await host.route("s", request(tags), slack)).router, {
        name: "s",
        version: "1",
      });
    }
    await host.close();
    const [active, shadow] = host.versions("s");
    assertEquals([active.role, active.stats.calls, active.stats.shadow.calls], ["active", 4, 0]);
    assertEquals([shadow.role, shadow.stats.calls, shadow.stats.shadow], ["shadow", 4, {
      calls: 4,
      agreed: 3,
    }]);
    host.activate("s", "2");
    assertEquals(host.versions("s").map((v) => v.role), ["loaded", "active"]);
  } finally {
    await host.close();
  }
});

Deno.test("calls, failures, fallbacks and latency show in the metrics registry", async () => {
  const metrics = new MetricsRegistry();
  const host = new PluginHost({ poolSize: 1, metrics });
  try {
    await host.load("m", "1", plugin("return 42;", "m"));
    host.activate("m", "1");
    await host.route("m", request(), slack);
    await host.route("m", request(["attack"]), slack);
    const text = metrics.render();
    assertStringIncludes(text, 'sb_plugin_calls_total{plugin="m",version="1"} 2');
    assertStringIncludes(text, 'sb_plugin_failures_total{plugin="m",version="1",kind="invalid"} 1');
    assertStringIncludes(
      text,
      'sb_plugin_fallbacks_total{plugin="m",version="1",cause="invalid"} 1',
    );
    assertStringIncludes(text, 'sb_plugin_call_seconds_count{plugin="m",version="1"} 2');
    const [stats] = host.versions("m").map((v) => v.stats);
    assertEquals(stats.latencyMs.at(-1)?.count, 2);
  } finally {
    await host.close();
  }
});
