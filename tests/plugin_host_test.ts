// The plugin host's life cycle with real child processes: deadlines that
// include waiting, atomic swaps under load, the circuit breaker, shadows and
// metrics.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import { PluginHost } from "../plugins/host/plugin_host.ts";
import { assertFellBack, plugin, request, slack } from "./_support/plugin_sources.ts";

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

Deno.test("prepare starts a loaded version's children and resolves once they run, for the swap", async () => {
  const host = new PluginHost({ poolSize: 2 });
  try {
    await host.load("p", "1", plugin(""));
    assertEquals(host.versions("p")[0].children, 0, "a loaded version runs no child");
    await host.prepare("p", "1");
    assertEquals(host.versions("p")[0].children, 2);
    host.activate("p", "1");
    assertEquals(host.versions("p")[0].children, 2);
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
