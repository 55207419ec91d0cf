// The sandbox with real child processes: a plugin that misbehaves in any
// way falls back and leaves the host serving; a version that does not
// import, is no plugin or fails its probe is refused.
import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { maxSourceBytes, PluginError, PluginHost } from "../plugins/host/plugin_host.ts";
import { assertFellBack, plugin, request, slack } from "./_support/plugin_sources.ts";

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
