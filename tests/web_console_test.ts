/// <reference lib="dom" />
// The console without a browser: the thread of a conversation
// (edge/web/console/_thread.ts) — the newest page first, older pages on
// demand, live messages only where they extend the run, never a gap or a
// duplicate — and the desk's offers against a real in-process server.
import { assert, assertEquals } from "@std/assert";
import type { Api } from "../edge/web/console/_api.ts";
import { Desk } from "../edge/web/console/_desk.ts";
import { Thread } from "../edge/web/console/_thread.ts";
import type { MessageFrame, ProtocolClient } from "../edge/web/client/protocol_client.ts";
import { call, startApiServer } from "./_support/api_server.ts";
import { until } from "./_support/until.ts";

function history(head: number) {
  const asked: string[] = [];
  const api = {
    get(path: string) {
      asked.push(path);
      const query = new URL(path, "http://x").searchParams;
      const after = Number(query.get("after"));
      const limit = Number(query.get("limit"));
      const items = [];
      for (let seq = after + 1; seq <= Math.min(head, after + limit); seq++) {
        items.push({ seq, kind: "text", author: null, body: `m${seq}`, at: seq });
      }
      return Promise.resolve({ items });
    },
  } as unknown as Api;
  const watched: [string, number | undefined][] = [];
  const client = {
    watch: (id: string, after?: number) => watched.push([id, after]),
  } as unknown as ProtocolClient;
  return { api, client, asked, watched };
}

const live = (seq: number): MessageFrame => ({
  t: "msg",
  conversation: "c",
  seq,
  kind: "text",
  author: null,
  body: `m${seq}`,
  at: seq,
});

Deno.test("console thread: the newest page, then older pages back to the first message", async () => {
  const { api, client, asked, watched } = history(250);
  const thread = new Thread("c", api, client);
  thread.add(live(250)); // before it is open: the page brings it
  await thread.open(250);
  assertEquals([thread.oldest, thread.last], [151, 250]);
  assertEquals(watched, [["c", 250]], "followed from its last message");
  await thread.older();
  await thread.older();
  assertEquals([thread.oldest, thread.last, thread.complete], [1, 250, true]);
  assertEquals(
    thread.messages.value.map((m) => m.seq),
    Array.from({ length: 250 }, (_, i) => i + 1),
  );
  await thread.older();
  assertEquals(asked, [
    "/v1/conversations/c/messages?after=150&limit=100",
    "/v1/conversations/c/messages?after=50&limit=100",
    "/v1/conversations/c/messages?after=0&limit=50",
  ]);
});

Deno.test("console thread: live messages extend the run; duplicates and gaps are not shown", async () => {
  const { api, client } = history(20);
  const thread = new Thread("c", api, client);
  await thread.open(20);
  thread.add(live(21));
  thread.add(live(21));
  thread.add(live(20));
  thread.add(live(23)); // 22 is missing: the client asks the edge again, and 22 comes first
  assertEquals(thread.last, 21);
  thread.add(live(22));
  thread.add(live(23));
  assertEquals(thread.messages.value.map((m) => m.seq).slice(-4), [20, 21, 22, 23]);
});

Deno.test({
  name: "console desk: an offer shows with its deadline; one left to lapse sets the agent away",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startApiServer();
    const notified: string[] = [];
    const token = await server.token({ sub: "alice", role: "agent" });
    const desk = new Desk({
      edges: [server.url],
      token,
      notify: (title) => notified.push(title),
    });
    try {
      const admin = await server.token({ sub: "root", role: "admin" });
      const widgetKey = "wk_console_offers_0123456789";
      const saved = await call(`${server.url}/v1/admin/settings`, admin, "POST", {
        widget: { key: widgetKey },
        routing: { offerSeconds: 1 },
      });
      assertEquals(saved.status, 200);
      desk.start();
      await until(() => desk.connection.value === "open");
      const session = await call(`${server.url}/v1/widget/sessions`, null, "POST", { widgetKey });
      const { conversationId } = session.body as { conversationId: string };
      const asked = Date.now();
      await until(() => desk.offers.pending.value.length === 1);
      const [offer] = desk.offers.pending.value;
      assertEquals([offer.kind, offer.id], ["chat", conversationId]);
      assert(offer.deadline > asked && offer.deadline <= Date.now() + 1000, "a second to answer");
      assert(desk.newWork.value >= 1, "the title counts it");
      assertEquals(notified.at(-1), "Chat offered");
      // Nobody answers: the offer leaves, and the queue sets the agent away; the desk shows it.
      await until(() => desk.offers.pending.value.length === 0, 5000);
      await until(() => desk.notice.value !== null);
      assertEquals(desk.status.value, "away");
      // The desk said so to the edges too: the agent's presence is away.
      let status: string | undefined;
      for (const deadline = Date.now() + 5000; status !== "away" && Date.now() < deadline;) {
        const agents = await call(`${server.url}/v1/agents`, token, "GET");
        const items = (agents.body as { items: { agent: string; status: string }[] }).items;
        status = items.find((a) => a.agent === "alice")?.status;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      assertEquals(status, "away");
    } finally {
      desk.stop();
      await server.close();
    }
  },
});
