// A client-chosen visitorId never becomes an identity: on the real runtime,
// an unverified visitor who types a customer's id cannot reach that
// customer's conversations or tickets, nor can the customer reach theirs.
import { assertEquals, assertMatch, assertNotEquals } from "@std/assert";
import { call, startApiServer } from "./_support/api_server.ts";
import { identityHash } from "./_support/identity_hash.ts";
import { WsClient } from "./_support/ws_client.ts";

const widgetKey = "wk_acme_0123456789abcdef";
const identitySecret = "identity-secret-0123456789abcdef";

type Visitor = { token: string; conversationId: string; visitorId: string };

async function withWidget(
  test: (bootstrap: (body: object) => Promise<Visitor>, url: string) => Promise<void>,
) {
  const api = await startApiServer();
  try {
    const admin = await api.token({ sub: "root", role: "admin" });
    const put = await call(`${api.url}/v1/admin/settings`, admin, "POST", {
      widget: { key: widgetKey, identitySecret },
    });
    assertEquals(put.status, 200);
    // With an agent online the chats stay chats rather than becoming tickets.
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    await test(async (body) => {
      const answer = await call(`${api.url}/v1/widget/sessions`, null, "POST", {
        widgetKey,
        ...body,
      });
      assertEquals(answer.status, 201, JSON.stringify(answer.body));
      return answer.body as Visitor;
    }, api.url);
    await agent.close();
  } finally {
    await api.close();
  }
}

const customer = async () => ({
  visitorId: "cust-42",
  identityHash: await identityHash("cust-42", identitySecret),
});

/** A visitor's own conversation and ticket, with a secret written in each. */
async function ownData(url: string, visitor: Visitor) {
  const socket = await WsClient.hello(url, visitor.token, { [visitor.conversationId]: 0 });
  const sent = await socket.ask({
    t: "send",
    id: "s1",
    conversation: visitor.conversationId,
    body: "my secret",
  });
  assertEquals(sent.t, "ack", JSON.stringify(sent));
  await socket.close();
  const ticket = await call(`${url}/v1/tickets`, visitor.token, "POST", {
    subject: "Help",
    body: "secret",
  });
  assertEquals(ticket.status, 201, JSON.stringify(ticket.body));
  return { conversation: visitor.conversationId, ticket: ticket.body.id as string };
}

/** `intruder` can neither resume, write, close nor comment on `target`'s data. */
async function assertLockedOut(
  url: string,
  intruder: Visitor,
  target: { conversation: string; ticket: string },
) {
  const socket = await WsClient.hello(url, intruder.token);
  socket.send({ t: "resume", conversations: { [target.conversation]: 0 } });
  assertEquals((await socket.next((f) => f.t === "err")).code, "not_found");
  const send = await socket.ask({
    t: "send",
    id: "x1",
    conversation: target.conversation,
    body: "as you",
  });
  assertEquals([send.t, send.code], ["err", "forbidden"]);
  const close = await socket.ask({ t: "close", id: "x2", conversation: target.conversation });
  assertEquals([close.t, close.code], ["err", "forbidden"]);
  assertEquals(socket.messages(target.conversation), []);
  await socket.close();
  const comment = await call(
    `${url}/v1/tickets/${target.ticket}/comments`,
    intruder.token,
    "POST",
    {
      body: "as you",
      visibility: "public",
    },
  );
  assertEquals([comment.status, (comment.body.error as { code: string }).code], [403, "forbidden"]);
}

Deno.test("impersonation: an unverified visitor typing a customer's id reaches none of the customer's data", async () => {
  await withWidget(async (bootstrap, url) => {
    const verified = await bootstrap(await customer());
    assertEquals(verified.visitorId, "cust-42");
    const theirs = await ownData(url, verified);
    const impostor = await bootstrap({ visitorId: "cust-42" });
    assertMatch(impostor.visitorId, /^anon:/);
    await assertLockedOut(url, impostor, theirs);
  });
});

Deno.test("impersonation: a verified customer is never mixed with an anonymous visitor who typed their id", async () => {
  await withWidget(async (bootstrap, url) => {
    const anonymous = await bootstrap({ visitorId: "cust-42" });
    const theirs = await ownData(url, anonymous);
    await assertLockedOut(url, await bootstrap(await customer()), theirs);
    // The anonymous visitor itself comes back to its own conversation with its minted id.
    const returning = await bootstrap({ visitorId: anonymous.visitorId });
    assertEquals(returning.visitorId, anonymous.visitorId);
    assertNotEquals(returning.conversationId, anonymous.conversationId);
    const socket = await WsClient.hello(url, returning.token, { [theirs.conversation]: 0 });
    const history = await socket.next((f) => f.t === "msg" && f.body === "my secret");
    assertEquals(history.conversation, theirs.conversation);
    await socket.close();
  });
});
