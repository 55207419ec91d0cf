// The widget and the console in Chromium against a real cluster (3 nodes,
// 2 edges): the visitor on a tenant's page (another origin) talking to edge
// 1, the agent's console on edge 2, in separate browser contexts.
import { assert, assertEquals } from "@std/assert";
import { signToken } from "../edge/auth/auth.ts";
import {
  agentSays,
  browserTest,
  configureTenant,
  consoleMessages,
  openWidget,
  visitorSays,
  widgetMessages,
} from "./_support/browser_cluster.ts";
import { CLUSTER_SECRET } from "./_support/cluster.ts";
import { seriousViolations, shownOnce, signIn } from "./_support/web_pages.ts";

const widgetKey = "wk_browser_acme_0123456789";
const nightKey = "wk_browser_night_0123456789";

browserTest(
  "browser: visitor and agent chat across two edges, through a reload and an edge's death",
  async ({ cluster, edge1, edge2, browser, hostPage }) => {
    // The host page's queued calls of the JS API, made before the widget loads.
    const shopUrl = hostPage(
      edge1,
      widgetKey,
      `Switchboard.push(["identify", { name: "Vera Visitor" }]);
       Switchboard.push(["on", "message", (m) => (window.heard ||= []).push(m.body)]);`,
    );
    const nightUrl = hostPage(edge1, nightKey);
    await configureTenant(edge1, "acme", { key: widgetKey, allowedOrigins: [shopUrl] });
    await configureTenant(edge1, "nightshift", { key: nightKey });
    const agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const visitorContext = await browser.newContext({ viewport: { width: 1024, height: 720 } });
    const agent = await agentContext.newPage();
    const visitor = await visitorContext.newPage();
    const violations: string[] = [];

    // The agent signs in on edge 2, and may move to edge 1.
    await signIn(agent, `${edge2}/console`, await cluster.token("alice"), [edge2, edge1]);

    // The visitor writes from the shop's page; the chat waits in the agent's queue.
    await openWidget(visitor, `${shopUrl}/`);
    await visitorSays(visitor, "Hi, my order is late");
    await shownOnce(visitor, widgetMessages, "Hi, my order is late");
    await agent.locator(".lists .item", { hasText: "Vera Visitor" }).waitFor();
    await agent.locator(".lists button", { hasText: "Claim" }).first().click();
    await shownOnce(agent, consoleMessages, "Hi, my order is late");
    await agent.locator("#conv-title", { hasText: "Vera Visitor" }).waitFor();
    await visitor.locator("#switchboard-widget h2", { hasText: "Chatting with alice" }).waitFor();

    // Typing and seen, both ways.
    await agent.fill("#reply", "Let me");
    await visitor.locator("#switchboard-widget .typing").waitFor();
    await agentSays(agent, "Let me check that for you");
    await shownOnce(visitor, widgetMessages, "Let me check that for you");
    assert(
      (await visitor.evaluate(() => (globalThis as { heard?: string[] }).heard ?? []))
        .includes("Let me check that for you"),
      'on("message") heard the agent',
    );
    await agent.locator(".signals", { hasText: "Seen by the visitor" }).waitFor();
    await visitor.fill("#switchboard-widget textarea", "Thank");
    await agent.locator(".signals", { hasText: "is typing" }).waitFor();
    await visitorSays(visitor, "Thanks! Order 1234");
    await shownOnce(agent, consoleMessages, "Thanks! Order 1234");
    await visitor.locator("#switchboard-widget .seen").waitFor();

    // A note stays with the agents.
    await agent.check("#note-toggle");
    await agentSays(agent, "Customer is a VIP");
    await shownOnce(agent, consoleMessages, "Customer is a VIP");
    await agent.uncheck("#note-toggle");
    await agentSays(agent, "Found it: it ships today");
    await shownOnce(visitor, widgetMessages, "Found it: it ships today");
    await agent.locator(".signals", { hasText: "Seen by the visitor" }).waitFor();
    assert(
      !(await visitor.locator(widgetMessages).allTextContents()).includes("Customer is a VIP"),
    );

    await visitor.screenshot({ path: "docs/widget.png" });
    await agent.screenshot({ path: "docs/console.png" });
    violations.push(...(await seriousViolations(visitor)).map((v) => `widget: ${v}`));
    violations.push(...(await seriousViolations(agent)).map((v) => `console: ${v}`));

    // The visitor reloads mid-chat: the history shows once, the chat goes on;
    // what arrives while the panel is closed shows on the launcher.
    await visitor.reload();
    await agentSays(agent, "One more thing");
    await visitor.locator("#switchboard-widget .badge", { hasText: "1" }).waitFor();
    await visitor.evaluate(() =>
      (globalThis as unknown as { Switchboard: { push(c: unknown[]): void } }).Switchboard
        .push(["open"])
    );
    await shownOnce(visitor, widgetMessages, "One more thing");
    assertEquals(await visitor.locator("#switchboard-widget .badge").count(), 0);
    for (
      const text of [
        "Hi, my order is late",
        "Let me check that for you",
        "Found it: it ships today",
      ]
    ) {
      await shownOnce(visitor, widgetMessages, text);
    }

    // The agent's edge dies: the console moves to edge 1 and loses or doubles nothing.
    await cluster.kill("e2");
    await agent.waitForSelector(".conn:not(.open)");
    await agent.waitForSelector(".conn.open", { timeout: 15_000 });
    await visitorSays(visitor, "Are you still there?");
    await shownOnce(agent, consoleMessages, "Are you still there?");
    await agentSays(agent, "Yes, still here");
    await shownOnce(visitor, widgetMessages, "Yes, still here");
    const agentSaw = await agent.locator(consoleMessages).allTextContents();
    assertEquals(agentSaw.length, new Set(agentSaw).size, `no message twice: ${agentSaw}`);

    // The agent closes; the visitor rates.
    await agent.click("button.danger");
    await visitor.locator("#switchboard-widget legend", { hasText: "How was this chat?" })
      .waitFor();
    violations.push(...(await seriousViolations(visitor)).map((v) => `widget rating: ${v}`));
    await visitor.click("#switchboard-widget [aria-label='5 of 5']");
    await visitor.locator("#switchboard-widget .closed", { hasText: "Thanks for your feedback" })
      .waitFor();

    // Nobody online at the night shift: the chat becomes a ticket, and its console shows it.
    const nightVisitor = await (await browser.newContext()).newPage();
    await openWidget(nightVisitor, `${nightUrl}/`);
    await visitorSays(nightVisitor, "Anyone there at night?");
    await nightVisitor.locator("#switchboard-widget .status", {
      hasText: "We'll reply by ticket",
    })
      .waitFor();
    const nightAgent = await agentContext.newPage();
    const nightToken = await signToken(
      CLUSTER_SECRET,
      { sub: "nora", tenant: "nightshift", role: "supervisor" },
      3600,
    );
    await signIn(nightAgent, `${edge1}/console`, nightToken, [edge1]);
    await nightAgent.click("nav.tabs >> text=tickets");
    await nightAgent.locator(".ticket-list .conv").first().click();
    await nightAgent.locator(".timeline li").first().waitFor();
    violations.push(...(await seriousViolations(nightAgent)).map((v) => `tickets: ${v}`));
    await nightAgent.click("nav.tabs >> text=board");
    await nightAgent.locator(".board table.agents").waitFor();
    violations.push(...(await seriousViolations(nightAgent)).map((v) => `board: ${v}`));
    assertEquals(violations, []);
  },
);
