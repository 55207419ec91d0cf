// The pages an edge serves (edge/web/web.ts), without a browser: the
// strict Content-Security-Policy, the bundled scripts, the demo page, and
// the dev sign-in, which exists only when the process made its own secret.
import { assert, assertEquals, assertMatch } from "@std/assert";
import { verifyToken } from "../edge/auth/auth.ts";
import { createWebPages } from "../edge/web/web.ts";
import { ServiceProcess } from "./_support/process.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./_support/services.ts";

const secret = "web-pages-secret-0123456789abcdef";

function get(pages: ReturnType<typeof createWebPages>, path: string, init: RequestInit = {}) {
  return pages.handle(new Request(`http://edge.test${path}`, init));
}

Deno.test("web pages: pages carry a strict CSP and load only their own scripts", async () => {
  const pages = createWebPages({ demoWidgetKey: "demo_widget_key_0001" });
  for (const path of ["/console", "/demo"]) {
    const response = (await get(pages, path))!;
    assertEquals(response.status, 200);
    const csp = response.headers.get("content-security-policy")!;
    assertMatch(csp, /script-src 'self'(;|$)/);
    assert(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
    assertMatch(csp, /frame-ancestors 'none'/);
    const html = await response.text();
    assert(!/<script>/.test(html) && !/\son\w+=/.test(html), `${path} has no inline script`);
  }
  const demo = await (await get(pages, "/demo"))!.text();
  assert(demo.includes('src="/widget.js" data-key="demo_widget_key_0001"'));
});

Deno.test("web pages: the widget script is the bundle, revalidated by its hash", async () => {
  const pages = createWebPages();
  const first = (await get(pages, "/widget.js"))!;
  assertEquals(first.status, 200);
  assertEquals(first.headers.get("content-type"), "text/javascript; charset=utf-8");
  const source = await first.text();
  assert(source.startsWith("(()=>{"), "an IIFE: nothing leaks into the host page's globals");
  assert(!source.includes("eval("));
  const again = (await get(pages, "/widget.js", {
    headers: { "if-none-match": first.headers.get("etag")! },
  }))!;
  assertEquals(again.status, 304);
  await again.body?.cancel();
});

Deno.test("web pages: no demo key, no /demo; no dev sign-in unless offered", async () => {
  const pages = createWebPages();
  assertEquals(get(pages, "/demo"), null);
  assertEquals(get(pages, "/console/dev-sign-in", { method: "POST", body: "{}" }), null);
  const config = await (await get(pages, "/console/config.json"))!.json();
  assertEquals(config.devSignIn, null);
});

Deno.test("web pages: the dev sign-in mints tokens for the demo tenant's agents only", async () => {
  const pages = createWebPages({ devSignIn: { tenant: "demo", secret } });
  const signIn = (sub: string) =>
    get(pages, "/console/dev-sign-in", { method: "POST", body: JSON.stringify({ sub }) })!;
  const answer = await (await signIn("alice")).json();
  const principal = await verifyToken(secret, answer.token);
  assertEquals([principal.sub, principal.tenant, principal.role], ["alice", "demo", "agent"]);
  const refused = await signIn("mallory");
  assertEquals(refused.status, 400);
  assertEquals((await refused.json()).error.code, "validation");
});

Deno.test("web pages: a standalone process given SB_JWT_SECRET offers no dev sign-in", async () => {
  const schema = uniqueName("sb_test");
  const server = await ServiceProcess.start({
    env: {
      SB_ROLE: "standalone",
      SB_JWT_SECRET: secret,
      NATS_URL: "",
      REDIS_URL: "",
      DATABASE_URL,
      SB_DB_SCHEMA: schema,
      SB_CLUSTER: uniqueName("sbt"),
    },
  });
  try {
    const edge = `http://127.0.0.1:${server.port}`;
    const config = await (await fetch(`${edge}/console/config.json`)).json();
    assertEquals(config.devSignIn, null);
    const signIn = await fetch(`${edge}/console/dev-sign-in`, { method: "POST", body: "{}" });
    assertEquals(signIn.status, 404);
    await signIn.body?.cancel();
    const demo = await fetch(`${edge}/demo`);
    assertEquals(demo.status, 200, "the demo tenant's widget is there all the same");
    await demo.body?.cancel();
  } finally {
    server.kill("SIGKILL");
    await server.exited();
    await dropSchema(schema);
  }
});
