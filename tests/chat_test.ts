// Live chat over the WebSocket edge of one process (real Postgres, in-process
// bus): open, claim, exchange, resume, isolation, and bad frames.
import { assert, assertEquals, assertGreater } from "@std/assert";
import { JWT_SECRET, startApiServer } from "./_support/api_server.ts";
import { signToken } from "../edge/auth.ts";
import { type Frame, WsClient } from "./_support/ws_client.ts";
import type { ApiServer } from "./_support/api_server.ts";

/** Open a conversation the way the widget bootstrap does: an `open` command. */
export async function openConversation(
  api: ApiServer,
  visitor: string,
  tenant = "acme",
): Promise<{ id: string; token: string }> {
  const id = `c${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`;
  const response = await api.runtime.host.dispatch({
    address: { kind: "session", tenant, id },
    op: "command",
    command: {
      type: "open",
      by: { sub: visitor, role: "visitor" },
      visitor: { id: visitor, verified: false },
      agentsOnline: 1,
    },
    commandId: `open:${id}`,
    deadline: Date.now() + 5000,
  });
  assert(response.ok, JSON.stringify(response));
  return { id, token: await api.token({ sub: visitor, role: "visitor", tenant }) };
}

const bodies = (frames: Frame[]) => frames.map((f) => f.body);

Deno.test("chat: claim, exchange both ways in order, notes stay internal, acks carry sequences", async () => {
  const api = await startApiServer();
  try {
    const { id, token } = await openConversation(api, "vera");
    const visitor = await WsClient.hello(api.url, token, { [id]: 0 });
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }), undefined, true);

    const claim = await agent.ask({ t: "claim", id: "c1", conversation: id });
    assertEquals(claim.t, "ack");
    await visitor.next((f) => f.t === "assigned" && f.agent === "alice");
    for (let i = 0; i < 20; i++) {
      const who = i % 2 ? visitor : agent;
      const ack = await who.ask({ t: "send", id: `m${i}`, conversation: id, body: `hello ${i}` });
      assertEquals(ack.t, "ack", JSON.stringify(ack));
    }
    const note = await agent.ask({
      t: "send",
      id: "n1",
      conversation: id,
      body: "secret",
      kind: "note",
    });
    assertEquals(note.t, "ack");
    await agent.ask({ t: "send", id: "last", conversation: id, body: "bye" });
    await visitor.next((f) => f.t === "msg" && f.body === "bye");
    await agent.next((f) => f.t === "msg" && f.body === "bye");

    for (const client of [visitor, agent]) {
      const messages = client.messages(id);
      assertEquals(
        messages.map((m) => m.seq),
        messages.map((_, i) => i + 1),
        "gap-free, once, in order",
      );
      const texts = bodies(messages).filter((b) => String(b).startsWith("hello"));
      assertEquals(texts, Array.from({ length: 20 }, (_, i) => `hello ${i}`));
    }
    assert(!bodies(visitor.messages(id)).includes("secret"), "visitors never see notes");
    assert(bodies(agent.messages(id)).includes("secret"));
    await visitor.close();
    await agent.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: a dropped visitor resumes from its last sequence: nothing missing, nothing doubled", async () => {
  const api = await startApiServer();
  try {
    const { id, token } = await openConversation(api, "vic");
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    await agent.ask({ t: "claim", id: "c", conversation: id });
    const first = await WsClient.hello(api.url, token, { [id]: 0 });
    for (let i = 0; i < 5; i++) {
      await agent.ask({ t: "send", id: `a${i}`, conversation: id, body: `a${i}` });
    }
    await first.next((f) => f.t === "msg" && f.body === "a4");
    const last = Math.max(...first.messages(id).map((m) => m.seq as number));
    await first.close();
    for (let i = 5; i < 10; i++) {
      await agent.ask({ t: "send", id: `a${i}`, conversation: id, body: `a${i}` });
    }

    const second = await WsClient.hello(api.url, token, { [id]: last });
    await second.next((f) => f.t === "msg" && f.body === "a9");
    const all = [...first.messages(id), ...second.messages(id)];
    assertEquals(all.map((m) => m.seq), all.map((_, i) => i + 1));
    assertEquals(
      bodies(all).filter((b) => /^a\d$/.test(String(b))),
      Array.from({ length: 10 }, (_, i) => `a${i}`),
    );
    await second.close();
    await agent.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: isolation: other tenants and other visitors cannot watch, read or write", async () => {
  const api = await startApiServer();
  try {
    const { id } = await openConversation(api, "owner");
    const stranger = await WsClient.hello(
      api.url,
      await api.token({ sub: "other", role: "visitor" }),
    );
    stranger.send({ t: "resume", conversations: { [id]: 0 } });
    assertEquals((await stranger.next((f) => f.t === "err")).code, "not_found");
    const denied = await stranger.ask({ t: "send", id: "x", conversation: id, body: "let me in" });
    assertEquals([denied.t, denied.code], ["err", "forbidden"]);

    const foreign = await WsClient.hello(
      api.url,
      await api.token({ sub: "mallory", tenant: "globex" }),
    );
    foreign.send({ t: "resume", conversations: { [id]: 0 } });
    assertEquals((await foreign.next((f) => f.t === "err")).code, "not_found");
    const claim = await foreign.ask({ t: "claim", id: "c", conversation: id });
    assertEquals([claim.t, claim.code], ["err", "not_found"]);
    assertEquals(stranger.messages(id).length + foreign.messages(id).length, 0);
    await stranger.close();
    await foreign.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: tokens: a forged or expired token is refused and the socket closed", async () => {
  const api = await startApiServer();
  try {
    const forged = await WsClient.open(api.url);
    forged.send({ t: "hello", token: (await api.token({ sub: "a" })).slice(0, -4) + "AAAA" });
    assertEquals((await forged.next((f) => f.t === "err")).code, "unauthorized");
    assertEquals((await forged.closed).code, 1008);
    const expired = await WsClient.open(api.url);
    const stale = await signToken(JWT_SECRET, { sub: "a", tenant: "acme", role: "agent" }, 1, {
      now: Date.now() - 60_000,
    });
    expired.send({ t: "hello", token: stale });
    assertEquals((await expired.next((f) => f.t === "err")).code, "unauthorized");
    assertEquals((await expired.closed).code, 1008);
    const early = await WsClient.open(api.url);
    early.send({ t: "claim", id: "1", conversation: "x" });
    assertEquals((await early.next((f) => f.t === "err")).code, "unauthorized");
  } finally {
    await api.close();
  }
});

Deno.test("chat: bad frames get err codes or 1007/1009 and never disturb other sockets", async () => {
  const api = await startApiServer();
  try {
    const { id, token } = await openConversation(api, "bob");
    const bystander = await WsClient.hello(api.url, token, { [id]: 0 });
    const agentToken = await api.token({ sub: "alice" });

    const client = await WsClient.hello(api.url, agentToken);
    client.send({ t: "send", id: "1", conversation: id });
    const invalid = await client.next((f) => f.t === "err" && f.id === "1");
    assertEquals(invalid.code, "invalid_frame");
    client.send({ t: "nonsense" });
    await client.next((f) => f.t === "err" && f.code === "invalid_frame" && f.id === undefined);
    client.send({ t: "ping", id: "p" });
    await client.next((f) => f.t === "pong" && f.id === "p");

    const garbage = await WsClient.hello(api.url, agentToken);
    garbage.raw("{not json");
    assertEquals((await garbage.closed).code, 1007);
    const binary = await WsClient.hello(api.url, agentToken);
    binary.raw(new Uint8Array([0xc1, 0xc1, 0xc1]));
    assertEquals((await binary.closed).code, 1007);
    const huge = await WsClient.hello(api.url, agentToken);
    huge.send({ t: "send", id: "big", conversation: id, body: "x".repeat(70_000) });
    assertEquals((await huge.closed).code, 1009);

    const claim = await client.ask({ t: "claim", id: "c", conversation: id });
    assertEquals(claim.t, "ack");
    await bystander.next((f) => f.t === "assigned");
    assertGreater(bystander.messages(id).length, 0);
    await client.close();
    await bystander.close();
  } finally {
    await api.close();
  }
});
