// The browser tests' setting: a real cluster (3 nodes, 2 edges), headless
// Chromium, and tenants' pages of another origin embedding the widget;
// plus what a visitor and an agent do on their pages.
import { assertEquals } from "@std/assert";
import type { Browser, Page } from "playwright-core";
import { signToken } from "../../edge/auth/auth.ts";
import { call } from "./api_server.ts";
import { browserAvailable, launchBrowser } from "./browser.ts";
import { CLUSTER_SECRET, TestCluster } from "./cluster.ts";
import { serveHostPage } from "./web_pages.ts";

/** The widget's messages, inside its shadow root. */
export const widgetMessages = "#switchboard-widget .msg p";
/** The console's messages of the open conversation. */
export const consoleMessages = ".vlist .msg p";

/** What a browser test is given. */
export interface BrowserCluster {
  cluster: TestCluster;
  /** Base URLs of edges e1 and e2. */
  edge1: string;
  edge2: string;
  browser: Browser;
  /** Serve a tenant's page embedding the widget of `widgetKey` from `edge`; answers its URL. */
  hostPage(edge: string, widgetKey: string, queued?: string): string;
}

/**
 * A browser test against a real cluster: skipped (with a message) only
 * outside CI without Chromium; the cluster, the browser and the pages are
 * torn down whatever happens.
 */
export function browserTest(name: string, fn: (setup: BrowserCluster) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !browserAvailable(),
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const cluster = new TestCluster();
      let browser: Browser | undefined;
      const hosts: Deno.HttpServer<Deno.NetAddr>[] = [];
      try {
        await cluster.start("n1", "n2", "n3", "e1", "e2");
        browser = await launchBrowser();
        await fn({
          cluster,
          edge1: cluster.get("e1").url,
          edge2: cluster.get("e2").url,
          browser,
          hostPage(edge, widgetKey, queued) {
            const host = serveHostPage(edge, widgetKey, queued);
            hosts.push(host);
            return `http://127.0.0.1:${host.addr.port}`;
          },
        });
      } finally {
        await browser?.close();
        for (const host of hosts) await host.shutdown();
        await cluster.close();
      }
    },
  });
}

/** Set a tenant's widget and routing (by default agents claim by hand). */
export async function configureTenant(
  edge: string,
  tenant: string,
  widget: Record<string, unknown>,
  routing: Record<string, unknown> = { router: "manual" },
): Promise<void> {
  const admin = await signToken(CLUSTER_SECRET, { sub: "root", tenant, role: "admin" }, 3600);
  const saved = await call(`${edge}/v1/admin/settings`, admin, "POST", { widget, routing });
  assertEquals(saved.status, 200, JSON.stringify(saved.body));
}

/** Open the page and the widget's panel. */
export async function openWidget(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.click("#switchboard-widget button.launcher");
  await page.waitForSelector("#switchboard-widget textarea");
}

export async function visitorSays(page: Page, text: string): Promise<void> {
  await page.fill("#switchboard-widget textarea", text);
  await page.keyboard.press("Enter");
}

export async function agentSays(page: Page, text: string): Promise<void> {
  await page.fill("#reply", text);
  await page.keyboard.press("Enter");
}
