// The console's offers (edge/web/console/_offers.ts) and the board's queue
// figures (_queue_health.ts), without a browser: offers come in oldest
// first, end when answered, lapsed, assigned or withdrawn, and never twice.
import { assertEquals } from "@std/assert";
import { offeredItem, Offers, secondsLeft } from "../edge/web/console/_offers.ts";
import { atRiskAfterMs, queueHealth } from "../edge/web/console/_queue_health.ts";
import type { CommandFrame } from "../edge/web/client/protocol_client.ts";

const chat = (id: string, deadline: number) => ({ t: "offer", conversation: id, deadline });

Deno.test("offers: new offers queue up oldest first; a repeated frame renews, never doubles", () => {
  const offers = new Offers();
  offers.tick(1000);
  assertEquals(offers.offered(chat("c1", 31_000))?.id, "c1");
  assertEquals(offers.offered({ t: "offer", ticket: "t1", deadline: 20_000 })?.kind, "ticket");
  // The same offer again (a new socket after a reconnect): the newest deadline, still one entry.
  assertEquals(offers.offered(chat("c1", 32_000)), null);
  assertEquals(offers.pending.value.map((o) => [o.kind, o.id, o.deadline]), [
    ["chat", "c1", 32_000],
    ["ticket", "t1", 20_000],
  ]);
  assertEquals(offers.oldest?.id, "c1");
  assertEquals(offeredItem(offers.pending.value[0]), { conversation: "c1" });
  assertEquals(offeredItem(offers.pending.value[1]), { ticket: "t1" });
});

Deno.test("offers: frames without an item or a deadline, or already past it, are not offers", () => {
  const offers = new Offers();
  offers.tick(50_000);
  assertEquals(offers.offered({ t: "offer", deadline: 60_000 }), null);
  assertEquals(offers.offered({ t: "offer", conversation: "c1" }), null);
  assertEquals(offers.offered({ t: "offer", conversation: 7, deadline: 60_000 }), null);
  assertEquals(offers.offered(chat("c1", 40_000)), null, "lapsed before it arrived");
  assertEquals(offers.pending.value, []);
});

Deno.test("offers: the countdown, and lapsed offers leave the list once", () => {
  const offers = new Offers();
  offers.offered(chat("c1", 10_000));
  offers.offered(chat("c2", 20_000));
  assertEquals(secondsLeft(offers.pending.value[0], 1_500), 9);
  assertEquals(secondsLeft(offers.pending.value[0], 12_000), 0);
  assertEquals(offers.tick(9_999), []);
  assertEquals(offers.tick(10_000).map((o) => o.id), ["c1"]);
  assertEquals(offers.tick(11_000), []);
  assertEquals(offers.pending.value.map((o) => o.id), ["c2"]);
});

Deno.test("offers: an answered or assigned offer ends once", () => {
  const offers = new Offers();
  offers.offered(chat("c1", 10_000));
  offers.offered({ t: "offer", ticket: "c1", deadline: 10_000 });
  assertEquals(offers.end("chat", "c1")?.id, "c1");
  assertEquals(offers.end("chat", "c1"), undefined);
  assertEquals(offers.pending.value.map((o) => o.kind), ["ticket"], "the ticket of that id stays");
});

Deno.test("offers: a chat listed waiting and then gone from a complete queue list is withdrawn", () => {
  const offers = new Offers();
  offers.offered(chat("c1", 10_000));
  offers.offered(chat("c2", 10_000));
  offers.offered({ t: "offer", ticket: "t1", deadline: 10_000 });
  // A list that lags behind the offer does not withdraw it.
  assertEquals(offers.waiting(["c2"], true), []);
  assertEquals(offers.pending.value.length, 3);
  offers.waiting(["c1", "c2"], true);
  // A truncated list (50 shown of more) proves nothing.
  assertEquals(offers.waiting(["x"], false), []);
  assertEquals(offers.waiting(["c2"], true).map((o) => o.id), ["c1"]);
  assertEquals(offers.pending.value.map((o) => o.id), ["c2", "t1"], "tickets are not in the list");
});

Deno.test("command frames: an offer's answer may name a ticket; other commands a conversation", () => {
  const frames: CommandFrame[] = [
    { t: "accept", ticket: "t1" },
    { t: "decline", conversation: "c1" },
    { t: "claim", conversation: "c1" },
    // @ts-expect-error a claim names a conversation
    { t: "claim", ticket: "t1" },
  ];
  assertEquals(frames.length, 4);
});

Deno.test("queue health: longest wait, and chats at risk past half the tenant's wait limit", () => {
  assertEquals(atRiskAfterMs(), 150_000, "half the default 5 minutes");
  assertEquals(atRiskAfterMs({ chat: { waitLimitMinutes: 2 } }), 60_000);
  const now = 1_000_000;
  const waiting = [
    { id: "new", since: now - 5_000 },
    { id: "old", since: now - 90_000 },
    { id: "mid", since: now - 60_000 },
  ];
  const health = queueHealth(waiting, now, 60_000);
  assertEquals(health.longestMs, 90_000);
  assertEquals(health.atRisk.map((c) => c.id), ["old", "mid"]);
  assertEquals(queueHealth([], now, 60_000), { longestMs: null, atRisk: [] });
});
