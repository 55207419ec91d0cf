// Live chat over the WebSocket edge of one process (real Postgres, in-process
// bus): open, claim, exchange, resume, isolation, and bad frames.
import { assert, assertEquals, assertGreater } from "@std/assert";
import { JWT_SECRET, startApiServer } from "./_support/api_server.ts";
import { signToken } from "../edge/auth/auth.ts";
import { type Frame, WsClient } from "./_support/ws_client.ts";
import { closeCodeOf, rawUpgrade, rawWebSocket } from "./_support/raw_ws.ts";
import { openConversation } from "./_support/conversations.ts";
import type { Transport } from "../cluster/transport/transport.ts";

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
    // Messages change no conversation's status: agents are not told the queue again and again.
    assert(agent.frames.filter((f) => f.t === "queue").length <= 3, "queue frames only on changes");
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

Deno.test("chat: a socket that stops reading is closed with 1013 and can resume", async () => {
  const api = await startApiServer({ stallMs: 300 });
  try {
    const { id } = await openConversation(api, "sam");
    const alice = await api.token({ sub: "alice" });
    const agent = await WsClient.hello(api.url, alice);
    await agent.ask({ t: "claim", id: "c", conversation: id });
    // More than the kernel buffers of a loopback connection take (about 10 MB).
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from(
          { length: 50 },
          (_, j) =>
            agent.ask({ t: "send", id: `big${i + j}`, conversation: id, body: "x".repeat(19_000) }),
        ),
      );
    }
    const stalled = await rawWebSocket(api.url, [
      JSON.stringify({ t: "hello", token: alice, resume: { [id]: 0 } }),
    ]);
    // Do not read for a while: the backfill piles up on the server's side.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assertEquals(await closeCodeOf(stalled), 1013);
    const again = await WsClient.hello(api.url, alice, { [id]: 0 });
    await again.next((f) => f.t === "msg" && f.clientMessageId === "big999", 10_000)
      .catch(() => {
        throw new Error(`resumed up to ${again.messages(id).length} messages only`);
      });
    assertEquals(again.messages(id).map((m) => m.seq), again.messages(id).map((_, i) => i + 1));
    await again.close();
    await agent.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: heartbeats: a socket that stops answering pings is closed with 4008", async () => {
  // Long enough that a busy machine never starves the lively socket of two beats.
  const api = await startApiServer({ heartbeatMs: 400 });
  try {
    const quiet = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    quiet.answerPings = false;
    const lively = await WsClient.hello(api.url, await api.token({ sub: "bob" }));
    assertEquals((await quiet.closed).code, 4008);
    await new Promise((resolve) => setTimeout(resolve, 300));
    lively.send({ t: "ping", id: "still" });
    await lively.next((f) => f.t === "pong" && f.id === "still");
    await lively.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: over the per-connection limit a frame gets rate_limited with a retry-after", async () => {
  const api = await startApiServer({ config: { connectionRatePerSecond: 5 } });
  try {
    const client = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    for (let i = 0; i < 30; i++) client.send({ t: "ping", id: `p${i}` });
    const limited = await client.next((f) => f.t === "err" && f.code === "rate_limited");
    assertGreater(limited.retryAfterMs as number, 0);
    const answered = client.frames.filter((f) => f.t === "pong").length;
    assert(answered >= 5 && answered < 30, `${answered} pongs`);
    await client.close();
  } finally {
    await api.close();
  }
});

// Delivers every message but the pushes of bodies that match `lost`, as a bus that loses them.
function losingPushes(lost: RegExp) {
  return (bus: Transport): Transport => ({
    request: (subject, payload, options) => bus.request(subject, payload, options),
    serve: (subject, handler, options) => bus.serve(subject, handler, options),
    publish: (subject, payload, headers) => bus.publish(subject, payload, headers),
    subscribe: (subject, handler) =>
      bus.subscribe(subject, (payload, headers) => {
        const body = (payload as { data?: { body?: unknown } }).data?.body;
        if (typeof body !== "string" || !lost.test(body)) handler(payload, headers);
      }),
    get connected() {
      return bus.connected;
    },
    onStatus: (listener) => bus.onStatus(listener),
    close: () => bus.close(),
  });
}

Deno.test("chat: a lost last push still reaches the client, found by the head check", async () => {
  const api = await startApiServer({ headCheckMs: 100, edgeBus: losingPushes(/^lost/) });
  try {
    const { id, token } = await openConversation(api, "lena");
    const visitor = await WsClient.hello(api.url, token, { [id]: 0 });
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    await agent.ask({ t: "claim", id: "c", conversation: id });
    await agent.ask({ t: "send", id: "m1", conversation: id, body: "hello" });
    await agent.ask({ t: "send", id: "m2", conversation: id, body: "lost and last" });
    const found = await visitor.next((f) => f.t === "msg" && f.body === "lost and last", 10_000);
    const messages = visitor.messages(id);
    assertEquals(messages.map((m) => m.seq), messages.map((_, i) => i + 1));
    assertEquals(messages.at(-1), found);
    await visitor.close();
    await agent.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: a socket is closed with 4001 when its token expires, by hello or by subprotocol", async () => {
  const api = await startApiServer();
  try {
    // Valid for 2 to 3 s from now: a token's times are whole seconds, so a
    // token "valid for 1 s" may expire at once on a slow machine.
    const shortLived = () =>
      signToken(JWT_SECRET, { sub: "alice", tenant: "acme", role: "agent" }, 60, {
        now: Date.now() - 57_000,
      });
    const byHello = await WsClient.hello(api.url, await shortLived());
    const bySubprotocol = await WsClient.open(api.url, {
      protocols: ["switchboard.v1", `bearer.${await shortLived()}`],
    });
    const lasting = await WsClient.hello(api.url, await api.token({ sub: "bob" }));
    assertEquals((await byHello.closed).code, 4001);
    assertEquals((await bySubprotocol.closed).code, 4001);
    lasting.send({ t: "ping", id: "still" });
    await lasting.next((f) => f.t === "pong" && f.id === "still");
    await lasting.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: an address gets 429 past its cap of sockets waiting for hello; authenticated ones do not count", async () => {
  const api = await startApiServer({ maxPendingPerAddress: 16 });
  try {
    const waiting = await Promise.all(Array.from({ length: 16 }, () => WsClient.open(api.url)));
    const refused = await rawUpgrade(api.url);
    assertEquals(refused.status, 429);
    refused.conn.close();
    // A socket that authenticates leaves the count.
    waiting[0].send({ t: "hello", token: await api.token({ sub: "alice" }) });
    await waiting[0].next((f) => f.t === "welcome");
    const admitted = await WsClient.open(api.url);
    const again = await rawUpgrade(api.url);
    assertEquals(again.status, 429);
    again.conn.close();
    // A token in the subprotocol is verified before the upgrade: never pending.
    const bearer = await WsClient.open(api.url, {
      protocols: ["switchboard.v1", `bearer.${await api.token({ sub: "bob" })}`],
    });
    await bearer.next((f) => f.t === "welcome");
    for (const client of [...waiting, admitted, bearer]) await client.close();
  } finally {
    await api.close();
  }
});

Deno.test("chat: resume names at most 100 conversations a frame and a socket watches a bounded number", async () => {
  const api = await startApiServer({ maxWatchesPerSocket: 2 });
  try {
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`ghost${i}`, 0]));
    agent.send({ t: "resume", conversations: many });
    assertEquals((await agent.next((f) => f.t === "err")).code, "too_many");

    const [a, b, c] = await Promise.all(["v1", "v2", "v3"].map((v) => openConversation(api, v)));
    agent.send({ t: "resume", conversations: { [a.id]: 0, [b.id]: 0 } });
    await agent.next((f) => f.t === "msg" && f.conversation === b.id);
    agent.send({ t: "resume", conversations: { [a.id]: 0, [c.id]: 0 } });
    const refused = await agent.next((f) => f.t === "err" && f.code === "too_many");
    assert(String(refused.message).includes("at most 2"));
    const claim = await agent.ask({ t: "claim", id: "k", conversation: c.id });
    assertEquals(claim.t, "ack", "a command still runs; its conversation is just not followed");
    const errors = agent.frames.filter((f) => f.t === "err").map((f) => f.code);
    assert(!errors.includes("not_found"), "no ghost was read at its owner");
    assertEquals(agent.messages(c.id).length, 0);
    await agent.close();
  } finally {
    await api.close();
  }
});
