// What the browser tests do on the widget and the console pages: sign in,
// wait for text, count messages, run axe-core in the page.
import type { Page } from "playwright-core";
import axe from "axe-core";
import { assertEquals } from "@std/assert";

/**
 * A page of another origin than the edge, embedding the widget as a
 * tenant's site would; `queued` is its own script, run before the widget loads.
 */
export function serveHostPage(
  edge: string,
  widgetKey: string,
  queued = "",
): Deno.HttpServer<Deno.NetAddr> {
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme shop</title></head>
<body><main><h1>Acme shop</h1><p>Our finest widgets.</p></main>
<script>window.Switchboard = window.Switchboard || []; ${queued}</script>
<script src="${edge}/widget.js" data-key="${widgetKey}" async></script></body></html>`;
  return Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    () => new Response(body, { headers: { "content-type": "text/html; charset=utf-8" } }),
  );
}

/** Sign in to the console with a pasted token and the edges it may use. */
export async function signIn(page: Page, consoleUrl: string, token: string, edges: string[]) {
  await page.goto(consoleUrl);
  await page.fill("#token", token);
  await page.fill("#edges", edges.join(" "));
  await page.click("text=Sign in");
  await page.waitForSelector(".conn.open");
}

/** The bodies of the messages a page shows (the widget's shadow root included). */
export function bodies(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allTextContents();
}

/** Wait until `text` shows exactly once among the messages, and check it stays once. */
export async function shownOnce(page: Page, selector: string, text: string): Promise<void> {
  await page.locator(selector, { hasText: text }).first().waitFor();
  const matching = (await bodies(page, selector)).filter((body) => body === text);
  assertEquals(matching.length, 1, `"${text}" shown ${matching.length} times`);
}

/** Run axe-core in the page; answers the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    const result = await (globalThis as any).axe.run((globalThis as any).document, {
      resultTypes: ["violations"],
    });
    // deno-lint-ignore no-explicit-any
    return result.violations.map((v: any) => ({
      id: v.id,
      impact: v.impact,
      // deno-lint-ignore no-explicit-any
      nodes: v.nodes.map((n: any) => n.target.join(" ")).slice(0, 3),
    }));
  });
  return violations
    .filter((v: { impact: string }) => v.impact === "serious" || v.impact === "critical")
    .map((v: { id: string; impact: string; nodes: string[] }) =>
      `${v.impact} ${v.id}: ${v.nodes.join(", ")}`
    );
}

const figuresFile = new URL("../../bench/results/web.json", import.meta.url);

/** Merge `figures` into bench/results/web.json (the README's web figures). */
export async function recordFigures(figures: Record<string, unknown>): Promise<void> {
  let current: Record<string, unknown> = {};
  try {
    current = JSON.parse(await Deno.readTextFile(figuresFile));
  } catch {
    // first run
  }
  const merged = { ...current, ...figures, measuredAt: new Date().toISOString() };
  await Deno.writeTextFile(figuresFile, JSON.stringify(merged, null, 2) + "\n");
}
