// Live conversations over the REST API of one process (real Postgres): the
// queue, claims, transfer, close, messages, and who may see what.
import { assert, assertEquals } from "@std/assert";
import { call, startApiServer } from "./_support/api_server.ts";
import { openConversation } from "./_support/conversations.ts";

type Body = Record<string, unknown>;

const ids = (page: Body) => (page.items as { id: string }[]).map((item) => item.id);
const bodies = (page: Body) => (page.items as { body: string }[]).map((item) => item.body);

Deno.test("conversations over HTTP on Postgres: queue, claim, transfer, close, messages", async () => {
  const api = await startApiServer();
  try {
    const url = `${api.url}/v1/conversations`;
    const [alice, bob] = await Promise.all([
      api.token({ sub: "alice" }),
      api.token({ sub: "bob" }),
    ]);
    const { id } = await openConversation(api, "vera");
    const queued = await call(`${url}?status=queued`, alice, "GET");
    assertEquals([queued.status, ids(queued.body)], [200, [id]]);
    assertEquals((queued.body.items as Body[])[0].visitor, {
      id: "vera",
      name: null,
      verified: true,
    });

    const claimed = await call(`${url}/${id}/claim`, alice, "POST");
    assertEquals([claimed.status, claimed.body.status, claimed.body.agent], [
      200,
      "assigned",
      "alice",
    ]);
    const late = await call(`${url}/${id}/claim`, bob, "POST");
    const error = late.body.error as { code: string; details: { owner: string } };
    assertEquals([late.status, error.code, error.details.owner], [409, "already_claimed", "alice"]);
    assertEquals(ids((await call(`${url}?status=queued`, alice, "GET")).body), []);
    const mine = await call(`${url}?status=assigned&assignee=alice`, bob, "GET");
    assertEquals(ids(mine.body), [id]);
    assertEquals(ids((await call(`${url}?assignee=bob`, alice, "GET")).body), []);

    const transferred = await call(`${url}/${id}/transfer`, alice, "POST", {
      to: "bob",
      reason: "speaks German",
    });
    assertEquals([transferred.status, transferred.body.agent], [200, "bob"]);
    assertEquals(ids((await call(`${url}?assignee=bob`, alice, "GET")).body), [id]);

    const key = { "idempotency-key": "close-1" };
    const closed = await call(`${url}/${id}/close`, bob, "POST", undefined, key);
    assertEquals([closed.status, closed.body.status, closed.body.closedBy], [200, "closed", "bob"]);
    const retried = await call(`${url}/${id}/close`, bob, "POST", undefined, key);
    assertEquals([retried.status, retried.body], [200, closed.body]);
    const again = await call(`${url}/${id}/close`, bob, "POST");
    assertEquals([again.status, (again.body.error as Body).code], [409, "conversation_closed"]);
    assertEquals(ids((await call(`${url}?status=closed`, alice, "GET")).body), [id]);

    const read = await call(`${url}/${id}`, alice, "GET");
    assertEquals([read.status, read.body.agent, read.body.messages], [200, "bob", 4]);
    const first = await call(`${url}/${id}/messages?limit=3`, alice, "GET");
    assertEquals(first.status, 200);
    assertEquals((first.body.items as Body[]).map((m) => [m.seq, m.kind, m.author]), [
      [1, "system", { sub: "system", role: "system" }],
      [2, "system", { sub: "system", role: "system" }],
      [3, "system", { sub: "system", role: "system" }],
    ]);
    assertEquals(bodies(first.body), [
      "Conversation started",
      "alice joined",
      "Transferred from alice to bob",
    ]);
    assertEquals(first.body.nextCursor, "3");
    const rest = await call(`${url}/${id}/messages?after=3&limit=3`, alice, "GET");
    assertEquals(bodies(rest.body), ["bob closed the conversation"]);
    assertEquals(rest.body.nextCursor, null);
    assert(
      !JSON.stringify([first.body, rest.body]).includes("speaks German"),
      "a transfer's reason is not written into the messages",
    );
  } finally {
    await api.close();
  }
});

Deno.test("conversations over HTTP: visitors are refused, other tenants find nothing", async () => {
  const api = await startApiServer();
  try {
    const url = `${api.url}/v1/conversations`;
    const { id, token: visitor } = await openConversation(api, "vic");
    const foreign = await api.token({ sub: "mallory", tenant: "globex" });
    const alice = await api.token({ sub: "alice" });
    const routes: [string, string, unknown][] = [
      ["GET", url, undefined],
      ["GET", `${url}/${id}`, undefined],
      ["GET", `${url}/${id}/messages`, undefined],
      ["POST", `${url}/${id}/claim`, undefined],
      ["POST", `${url}/${id}/transfer`, { to: "mallory" }],
      ["POST", `${url}/${id}/close`, undefined],
    ];
    for (const [method, route, body] of routes) {
      const refused = await call(route, visitor, method, body);
      assertEquals([route, refused.status, (refused.body.error as Body).code], [
        route,
        403,
        "forbidden",
      ]);
    }
    const [list, ...others] = routes;
    assertEquals(ids((await call(list[1], foreign, "GET")).body), []);
    for (const [method, route, body] of others) {
      const unseen = await call(route, foreign, method, body);
      assertEquals([route, unseen.status, (unseen.body.error as Body).code], [
        route,
        404,
        "not_found",
      ]);
    }
    for (const route of [`${url}/nosuchconversation`, `${url}/nosuchconversation/messages`]) {
      assertEquals((await call(route, alice, "GET")).status, 404, route);
    }
    const untouched = await call(`${url}/${id}`, alice, "GET");
    assertEquals([untouched.body.status, untouched.body.messages], ["queued", 1]);
  } finally {
    await api.close();
  }
});
