/// <reference lib="dom" />
// Offers in Chromium against a real cluster (3 nodes, 2 edges): with
// `routing.offerSeconds` the queue offers a visitor's chat to an agent, whose
// console shows it with its countdown; a decline sends it to the next agent
// (the queue never offers it again to one who passed), who accepts and
// chats. The supervisor's board shows the agents and the waiting chat live.
import { assert, assertEquals } from "@std/assert";
import type { Page } from "playwright-core";
import {
  agentSays,
  browserTest,
  configureTenant,
  consoleMessages,
  openWidget,
  visitorSays,
  widgetMessages,
} from "./_support/browser_cluster.ts";
import { seriousViolations, shownOnce, signIn } from "./_support/web_pages.ts";

const widgetKey = "wk_browser_offers_0123456789";
const offerSeconds = 30;
const offer = ".offers .offer";

/** The seconds left the console counts down for its first offer. */
async function secondsShown(page: Page): Promise<number> {
  const text = await page.locator(`${offer} .left`).first().textContent();
  return Number(text?.match(/^(\d+) s left$/)?.[1]);
}

browserTest(
  "browser: an offer declined goes to the next agent, who accepts it; the board shows it live",
  async ({ cluster, edge1, edge2, browser, hostPage }) => {
    // An anonymous visitor: the console calls them "Visitor", never by their anon: id.
    const shopUrl = hostPage(edge1, widgetKey);
    await configureTenant(edge1, "acme", { key: widgetKey, allowedOrigins: [shopUrl] }, {
      offerSeconds,
    });
    const page = async () =>
      await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const [sam, alice, visitor] = [await page(), await page(), await page()];
    const violations: string[] = [];

    // Sam, a supervisor who also takes chats, watches the board on edge 2.
    await signIn(sam, `${edge2}/console`, await cluster.token("sam", "supervisor"), [edge2]);
    await sam.click("nav.tabs >> text=board");
    await sam.locator(".board table.agents th", { hasText: "sam" }).waitFor({ timeout: 10_000 });

    // The visitor writes; the only agent online is offered the chat, with its countdown.
    await openWidget(visitor, `${shopUrl}/`);
    await visitorSays(visitor, "Can someone help with my invoice?");
    await shownOnce(visitor, widgetMessages, "Can someone help with my invoice?");
    await sam.locator(offer, { hasText: "Chat with Visitor" }).waitFor();
    const shown = await secondsShown(sam);
    assert(shown > 0 && shown <= offerSeconds, `countdown ${shown}`);
    await sam.waitForFunction((was) => {
      const left = document.querySelector(".offers .offer .left")?.textContent ?? "";
      return Number(left.split(" ")[0]) < was;
    }, shown);
    assert((await sam.title()).startsWith("("), "the title counts the offer");
    await sam.locator(".board .waiting-list tbody th", { hasText: "Visitor" }).waitFor();
    await sam.locator(".board .tile", { hasText: /^1\s*waiting/ }).waitFor();
    await sam.screenshot({ path: "docs/console-offer.png" });
    violations.push(...(await seriousViolations(sam)).map((v) => `offer and board: ${v}`));

    // Alice comes online on edge 1; the board lists both agents, online.
    await signIn(alice, `${edge1}/console`, await cluster.token("alice"), [edge1]);
    for (const agent of ["sam", "alice"]) {
      await sam.locator(".board table.agents tr", { hasText: agent }).filter({ hasText: "online" })
        .waitFor({ timeout: 10_000 });
    }

    // Sam declines with `d`: the offer leaves his console and goes to Alice.
    await sam.keyboard.press("?");
    await sam.locator(".help dt", { hasText: "a / d" }).waitFor();
    await sam.keyboard.press("Escape");
    await sam.keyboard.press("d");
    await sam.locator(offer).waitFor({ state: "detached" });
    await alice.locator(offer, { hasText: "Chat with Visitor" }).waitFor();
    assertEquals(await sam.locator(offer).count(), 0, "never offered again to one who passed");
    await sam.locator(".board .waiting-list tbody th", { hasText: "Visitor" }).waitFor();
    violations.push(...(await seriousViolations(alice)).map((v) => `offer: ${v}`));

    // Alice accepts: the chat is hers, and messages flow both ways.
    await alice.locator(`${offer} button.accept`).click();
    await alice.locator(offer).waitFor({ state: "detached" });
    await alice.locator(".lists .conv", { hasText: "Visitor" }).waitFor();
    await shownOnce(alice, consoleMessages, "Can someone help with my invoice?");
    await alice.locator(".vlist .msg.theirs header b", { hasText: "Visitor" }).first().waitFor();
    await visitor.locator("#switchboard-widget h2", { hasText: "Chatting with alice" }).waitFor();
    await agentSays(alice, "Happy to help: which invoice?");
    await shownOnce(visitor, widgetMessages, "Happy to help: which invoice?");
    await visitorSays(visitor, "Number 42");
    await shownOnce(alice, consoleMessages, "Number 42");
    assert(!(await alice.locator("main").innerText()).includes("anon:"), "no anon: id shown");

    // The board follows: nobody waits, and Alice holds one chat.
    await sam.locator(".board .tile", { hasText: /^0\s*waiting/ }).waitFor();
    await sam.locator(".board table.agents tr", { hasText: "alice" }).filter({ hasText: "1 / 3" })
      .waitFor({ timeout: 15_000 });
    await sam.screenshot({ path: "docs/console-board.png" });
    assertEquals(violations, []);
  },
);
