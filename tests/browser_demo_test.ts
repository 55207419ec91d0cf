/// <reference lib="dom" />
// `deno task start`'s tour in Chromium: a standalone process (here on the
// test Postgres) that made its own secret serves /demo with the widget of
// the demo tenant and offers the console's dev sign-in. Measures the
// widget's size, the demo's time to interactive and the console's frame
// time scrolling a 10,000-message history, into bench/results/web.json.
import { assert, assertEquals } from "@std/assert";
import type { Browser, Page } from "playwright-core";
import { ProtocolClient } from "../edge/web/client/protocol_client.ts";
import { browserAvailable, launchBrowser } from "./_support/browser.ts";
import { ServiceProcess } from "./_support/process.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./_support/services.ts";
import { recordFigures, seriousViolations } from "./_support/web_pages.ts";

const historySize = 10_000;
const agentConversations = 500;

async function gzippedSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** Milliseconds from navigation to the widget's launcher being drawn and live. */
async function timeToInteractive(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.waitForSelector("#switchboard-widget button.launcher");
  return await page.evaluate(() =>
    performance.getEntriesByName("switchboard:interactive")[0].startTime
  );
}

/** A new conversation of the demo tenant's widget. */
async function bootstrap(
  edge: string,
  name: string,
): Promise<{ token: string; conversationId: string }> {
  const response = await fetch(`${edge}/v1/widget/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ widgetKey: "demo_widget_key_0001", name }),
  });
  assertEquals(response.status, 201);
  return await response.json();
}

/** `count` chats claimed by the agent of `token`, who is online meanwhile. */
async function seedClaimed(edge: string, token: string, count: number): Promise<void> {
  const agent = new ProtocolClient({ edges: [edge], token: () => token });
  const online = Promise.withResolvers<void>();
  agent.on("welcome", () => online.resolve());
  agent.connect();
  await online.promise;
  try {
    for (let from = 0; from < count; from += 50) {
      await Promise.all(Array.from({ length: Math.min(50, count - from) }, async (_, i) => {
        const { conversationId } = await bootstrap(edge, `Visitor ${from + i}`);
        const claimed = await fetch(`${edge}/v1/conversations/${conversationId}/claim`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: "{}",
        });
        assertEquals(claimed.status, 200);
        await claimed.body?.cancel();
      }));
    }
  } finally {
    agent.close();
  }
}

/** A conversation of the demo tenant holding `count` visitor messages. */
async function seedHistory(edge: string, count: number): Promise<string> {
  const { token, conversationId } = await bootstrap(edge, "Long Talker");
  const visitor = new ProtocolClient({ edges: [edge], token: () => token });
  visitor.connect();
  try {
    for (let from = 0; from < count; from += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, count - from) }, (_, i) => {
          const n = from + i;
          const body = n % 7 === 0
            ? `Message ${n}: a longer one, to give the rows different heights. `.repeat(3)
            : `Message ${n}`;
          return visitor.send(conversationId, body);
        }),
      );
    }
  } finally {
    visitor.close();
  }
  return conversationId;
}

Deno.test({
  name: "browser: /demo and the console of a standalone process, with its dev sign-in and figures",
  ignore: !browserAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = uniqueName("sb_test");
    const dataDir = await Deno.makeTempDir({ prefix: "sb-demo-" });
    const server = await ServiceProcess.start({
      env: {
        SB_ROLE: "standalone",
        SB_JWT_SECRET: "",
        NATS_URL: "",
        REDIS_URL: "",
        DATABASE_URL,
        SB_DB_SCHEMA: schema,
        SB_CLUSTER: uniqueName("sbt"),
        SB_DATA_DIR: dataDir,
        SB_TENANT_RATE: "1000000",
        SB_CALLER_RATE: "1000000",
        SB_CONNECTION_RATE: "100000",
        SB_BOOTSTRAP_RATE: "100000",
      },
    });
    let browser: Browser | undefined;
    try {
      const edge = `http://127.0.0.1:${server.port}`;
      const violations: string[] = [];
      const script = await fetch(`${edge}/widget.js`);
      assertEquals(script.status, 200);
      const widgetBytes = new Uint8Array(await script.arrayBuffer());

      browser = await launchBrowser();
      const visitor = await (await browser.newContext()).newPage();
      const tti = [];
      for (let i = 0; i < 3; i++) tti.push(await timeToInteractive(visitor, `${edge}/demo`));
      violations.push(...(await seriousViolations(visitor)).map((v) => `demo: ${v}`));
      await visitor.click("#switchboard-widget button.launcher");
      violations.push(...(await seriousViolations(visitor)).map((v) => `demo, open: ${v}`));
      await visitor.setViewportSize({ width: 375, height: 667 });
      const panel = await visitor.locator("#switchboard-widget .panel").boundingBox();
      assert(panel && panel.width <= 375, "the panel fits a phone's width");

      // The dev sign-in, offered because this process made its own secret, to
      // an agent with 500 conversations.
      const signIn = await fetch(`${edge}/console/dev-sign-in`, {
        method: "POST",
        body: JSON.stringify({ sub: "alice" }),
      });
      await seedClaimed(edge, (await signIn.json()).token, agentConversations);
      const agent = await (await browser.newContext({ viewport: { width: 1280, height: 800 } }))
        .newPage();
      await agent.goto(`${edge}/console`);
      violations.push(...(await seriousViolations(agent)).map((v) => `sign-in: ${v}`));
      const signInStarted = performance.now();
      await agent.click("text=alice (agent)");
      await agent.waitForSelector(".conn.open");
      await agent.waitForFunction(
        (n) => document.querySelectorAll(".lists .conv").length >= n,
        agentConversations,
      );
      const listShownMs = performance.now() - signInStarted;
      // j through the list: from the key to the next conversation drawn as current.
      const stepMs = await agent.evaluate(async () => {
        const times: number[] = [];
        for (let i = 0; i < 20; i++) {
          const before = document.querySelector(".conv.current")?.textContent;
          const started = performance.now();
          document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "j", bubbles: true }));
          while (document.querySelector(".conv.current")?.textContent === before) {
            await new Promise(requestAnimationFrame);
          }
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b)[10];
      });

      // A 10,000-message history, paged backwards by scrolling, then scrolled through.
      await seedHistory(edge, historySize);
      await agent.locator(".lists button", { hasText: "Claim" }).first().click();
      await agent.locator(".vlist .msg p", { hasText: `Message ${historySize - 1}` }).waitFor();
      const pages = await agent.evaluate(async () => {
        const list = document.querySelector(".vlist")!;
        for (let i = 0; i < 1000; i++) {
          if (document.querySelector('.vlist-row[data-key="1"]')) return i;
          list.scrollTop = 0;
          list.dispatchEvent(new Event("scroll"));
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return -1;
      });
      assert(pages > 0, "scrolling up reached the first message");
      const rows = await agent.locator(".vlist-row").count();
      assert(rows < 200, `only the rows in view are drawn (${rows})`);
      const frames = await agent.evaluate(() =>
        new Promise<number[]>((resolve) => {
          const list = document.querySelector(".vlist")!;
          const times: number[] = [];
          let last = performance.now();
          const step = (now: number) => {
            times.push(now - last);
            last = now;
            list.scrollTop += 3000;
            if (list.scrollTop + list.clientHeight < list.scrollHeight - 1) {
              requestAnimationFrame(step);
            } else resolve(times.slice(1));
          };
          requestAnimationFrame(step);
        })
      );
      await agent.screenshot({ path: "docs/console-history.png" });
      assertEquals(violations, []);

      const sorted = [...frames].sort((a, b) => a - b);
      const at = (q: number) => Math.round(sorted[Math.floor(q * (sorted.length - 1))] * 10) / 10;
      await recordFigures({
        widget: {
          bytes: widgetBytes.byteLength,
          gzipBytes: await gzippedSize(widgetBytes),
          demoTimeToInteractiveMs: Math.round([...tti].sort((a, b) => a - b)[1]),
        },
        console500: {
          conversations: agentConversations,
          signInToListShownMs: Math.round(listShownMs),
          nextConversationMsP50: Math.round(stepMs * 10) / 10,
        },
        consoleScroll: {
          messages: historySize,
          historyPagesLoaded: pages,
          framesMeasured: frames.length,
          pxPerFrame: 3000,
          frameMsP50: at(0.5),
          frameMsP95: at(0.95),
          frameMsMax: at(1),
        },
      });
    } finally {
      await browser?.close();
      server.kill("SIGKILL");
      await server.exited();
      await dropSchema(schema);
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
