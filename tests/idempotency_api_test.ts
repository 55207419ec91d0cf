import { assertEquals, assertNotEquals } from "@std/assert";
import { call, startApiServer } from "./_support/api_server.ts";
import { openConversation } from "./_support/conversations.ts";
import { WsClient } from "./_support/ws_client.ts";

Deno.test("Idempotency-Key on another body or path is 422 idempotency_mismatch; the original still replays", async () => {
  const api = await startApiServer();
  try {
    const alice = await api.token({ sub: "alice" });
    const key = { "idempotency-key": "k-1" };
    const created = await call(`${api.url}/v1/tickets`, alice, "POST", {
      subject: "Once",
      body: "only once",
    }, key);
    assertEquals(created.status, 201);
    const id = created.body.id as string;
    const comments = `${api.url}/v1/tickets/${id}/comments`;
    const c1 = await call(comments, alice, "POST", { body: "hello" }, { "idempotency-key": "c-1" });
    assertEquals(c1.status, 200);
    const other = await call(comments, alice, "POST", { body: "bye" }, {
      "idempotency-key": "c-1",
    });
    assertEquals(
      [other.status, (other.body.error as { code: string }).code],
      [422, "idempotency_mismatch"],
    );
    const again = await call(comments, alice, "POST", { body: "hello" }, {
      "idempotency-key": "c-1",
    });
    assertEquals([again.status, again.body.comments], [200, 1]);
  } finally {
    await api.close();
  }
});

Deno.test("a refusal replayed stays a refusal: a 409 never becomes a 200", async () => {
  const api = await startApiServer();
  try {
    const sue = await api.token({ sub: "sue", role: "supervisor" });
    const bob = await api.token({ sub: "bob" });
    const created = await call(`${api.url}/v1/tickets`, sue, "POST", { subject: "s", body: "b" });
    const id = created.body.id as string;
    assertEquals((await call(`${api.url}/v1/tickets/${id}/claim`, sue, "POST")).status, 200);
    const key = { "idempotency-key": "claim-1" };
    const refused = await call(`${api.url}/v1/tickets/${id}/claim`, bob, "POST", undefined, key);
    assertEquals(refused.status, 409);
    assertEquals((await call(`${api.url}/v1/tickets/${id}/unassign`, sue, "POST")).status, 200);
    const replayed = await call(`${api.url}/v1/tickets/${id}/claim`, bob, "POST", undefined, key);
    assertEquals([replayed.status, replayed.body], [409, refused.body]);
  } finally {
    await api.close();
  }
});

Deno.test("two principals using the same Idempotency-Key on one actor each get their own outcome", async () => {
  const api = await startApiServer();
  try {
    const alice = await api.token({ sub: "alice" });
    const bob = await api.token({ sub: "bob" });
    const created = await call(`${api.url}/v1/tickets`, alice, "POST", { subject: "s", body: "b" });
    const comments = `${api.url}/v1/tickets/${created.body.id}/comments`;
    const key = { "idempotency-key": "same" };
    const fromAlice = await call(comments, alice, "POST", { body: "from alice" }, key);
    const fromBob = await call(comments, bob, "POST", { body: "from alice" }, key);
    assertEquals([fromAlice.status, fromBob.status], [200, 200]);
    assertEquals([fromAlice.body.comments, fromBob.body.comments], [1, 2]);
    const history = await call(`${api.url}/v1/tickets/${created.body.id}/events`, alice, "GET");
    const by = (history.body.items as { type: string; data: { by: string } }[])
      .filter((e) => e.type === "commented").map((e) => e.data.by);
    assertEquals(by, ["alice", "bob"]);
    assertNotEquals(fromAlice.body, fromBob.body);
  } finally {
    await api.close();
  }
});

Deno.test("WebSocket send: a retried clientMessageId acks the seq its message got; another body under it is refused", async () => {
  const api = await startApiServer();
  try {
    const { id, token } = await openConversation(api, "vera");
    const visitor = await WsClient.hello(api.url, token, { [id]: 0 });
    const send = (frameId: string, body: string) =>
      visitor.ask({ t: "send", id: frameId, conversation: id, body, clientMessageId: "cm-1" });
    const first = await send("f1", "hello");
    assertEquals(first.t, "ack");
    assertEquals(
      (await visitor.ask({ t: "send", id: "f2", conversation: id, body: "more" })).t,
      "ack",
    );
    const retried = await send("f3", "hello");
    assertEquals([retried.t, retried.seq], ["ack", first.seq]);
    const other = await send("f4", "changed");
    assertEquals([other.t, other.code], ["err", "idempotency_mismatch"]);
    visitor.close();
  } finally {
    await api.close();
  }
});
