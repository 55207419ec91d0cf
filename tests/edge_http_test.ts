// Unit tests of the HTTP mapping, over the scripted Backend of
// tests/_support/scripted_backend.ts.
import {
  assert,
  assertEquals,
  assertExists,
  assertMatch,
  assertNotEquals,
  assertObjectMatch,
  assertStringIncludes,
} from "@std/assert";
import {
  type Context,
  isSpanContextValid,
  propagation,
  type TextMapPropagator,
  trace,
  TraceFlags,
} from "@opentelemetry/api";
import { effectiveSettings } from "../cluster/store/tenant_directory.ts";
import { type ActorResponse, type Backend, retryableCodes } from "../cluster/protocol.ts";
import { signOpsToken, signToken } from "../edge/auth/auth.ts";
import { MemoryBudgetBank, TokenBucketLimiter } from "../edge/limits/rate_limit.ts";
import { callerLimiter } from "../edge/limits/caller_limits.ts";
import { routes } from "../edge/http/routes.ts";
import { newId } from "../edge/ids.ts";
import { expectError, harness, now, secret } from "./_support/scripted_backend.ts";

const by = { sub: "alice", role: "agent" };

const addressOf = (kind: string) => (id: string, tenant = "demo") => ({ kind, tenant, id });
const ticketAddress = addressOf("ticket");
const conversationAddress = addressOf("session");

/** Script `backend.messages` to answer from `items` as the store would; returns its calls. */
function scriptMessages(
  backend: Backend,
  items: Record<string, unknown>[],
): Parameters<Backend["messages"]>[] {
  const calls: Parameters<Backend["messages"]>[] = [];
  backend.messages = (...args) => {
    calls.push(args);
    const [, , after, limit] = args;
    const later = items.filter((m) => (m.seq as number) > after);
    const page = later.slice(0, limit);
    return Promise.resolve({
      items: page,
      nextCursor: later.length > limit ? String(page.at(-1)!.seq) : null,
    });
  };
  return calls;
}

const systemMessage = (seq: number) => ({
  type: "message",
  seq,
  publicSeq: seq,
  kind: "system",
  author: { sub: "system", role: "system" },
  body: `message ${seq}`,
  clientMessageId: null,
  at: now,
  internal: false,
});

// --- routes map to the right actor requests --------------------------------

Deno.test("POST /v1/tickets sends create with the caller, a new id and the deadline", async () => {
  const { call, backend } = harness();
  const response = await call("POST", "/v1/tickets", {
    body: { subject: "Printer on fire", body: "Help", priority: "high", tags: ["hw"] },
  });
  assertEquals(response.status, 201);
  const request = backend.last;
  assertMatch(request.address.id, /^[0-7][0-9a-hjkmnp-tv-z]{25}$/);
  assertEquals(request.address, ticketAddress(request.address.id));
  assertEquals(request.op, "command");
  assertEquals(request.command, {
    type: "create",
    subject: "Printer on fire",
    body: "Help",
    priority: "high",
    tags: ["hw"],
    by,
  });
  assertMatch(request.commandId, /^[0-9a-f-]{36}$/);
  assertEquals(request.deadline, now + 5000);
  assertEquals(request.fresh, true, "a new random id has no history to read");
  assertEquals(await response.json(), { id: request.address.id, echo: request.command });
});

Deno.test("POST /v1/tickets refuses a tenant in the body: the tenant is the token's", async () => {
  const { call, backend } = harness();
  const response = await call("POST", "/v1/tickets", {
    token: { tenant: "acme" },
    body: { subject: "s", body: "b", tenant: "other" },
  });
  await expectError(response, 400, { code: "validation", field: "tenant" });
  await call("POST", "/v1/tickets", {
    token: { tenant: "acme" },
    body: { subject: "s", body: "b" },
  });
  assertEquals(backend.last.address.tenant, "acme");
});

type Command = { type: string; [field: string]: unknown };

const ticketCommands: [string, unknown, Command][] = [
  ["claim", undefined, { type: "claim" }],
  ["assign", { agent: "bob" }, { type: "assign", agent: "bob" }],
  [
    "transfer",
    { to: { team: "billing" }, reason: "wrong team" },
    { type: "transfer", to: { team: "billing" }, reason: "wrong team" },
  ],
  [
    "transfer",
    { to: { agent: "carol" }, reason: "vacation" },
    { type: "transfer", to: { agent: "carol" }, reason: "vacation" },
  ],
  ["unassign", {}, { type: "unassign" }],
  ["comments", { body: "hi" }, { type: "comment", body: "hi", visibility: "public" }],
  [
    "comments",
    { body: "note", visibility: "internal", pending: true },
    { type: "comment", body: "note", visibility: "internal", pending: true },
  ],
  ["priority", { priority: "urgent" }, { type: "priority", priority: "urgent" }],
  ["tags", { tags: ["vip", "billing"] }, { type: "tag", tags: ["vip", "billing"] }],
  ["untag", { tags: ["vip"] }, { type: "untag", tags: ["vip"] }],
  [
    "escalate",
    { level: 2, reason: "angry" },
    { type: "escalate", level: 2, reason: "angry" },
  ],
  ["resolve", undefined, { type: "resolve" }],
  ["close", undefined, { type: "close" }],
  ["reopen", undefined, { type: "reopen" }],
];

const conversationCommands: [string, unknown, Command][] = [
  ["claim", undefined, { type: "claim" }],
  ["transfer", { to: "bob" }, { type: "transfer", to: "bob" }],
  [
    "transfer",
    { to: "bob", reason: "speaks German" },
    { type: "transfer", to: "bob", reason: "speaks German" },
  ],
  ["close", {}, { type: "close" }],
];

// Each collection, the address of its actor `t-1` in the demo tenant, and its commands.
const collections = [
  ["tickets", ticketAddress("t-1"), ticketCommands],
  ["conversations", conversationAddress("t-1"), conversationCommands],
] as const;

for (const [collection, address, commands] of collections) {
  for (const [action, body, command] of commands) {
    Deno.test(`POST /v1/${collection}/{id}/${action} sends ${command.type} ${JSON.stringify(body ?? "")}`, async () => {
      const { call, backend } = harness();
      const response = await call("POST", `/v1/${collection}/t-1/${action}`, {
        token: { sub: "alice", role: "supervisor" },
        body,
      });
      assertEquals(response.status, 200);
      assertEquals(backend.requests.length, 1);
      assertEquals(backend.last.address, address);
      assertEquals(backend.last.op, "command");
      assertEquals(backend.last.command, { ...command, by: { sub: "alice", role: "supervisor" } });
      assertEquals(await response.json(), { id: "t-1", echo: backend.last.command });
    });
  }

  Deno.test(`GET /v1/${collection}/{id} sends a read without a command`, async () => {
    const { call, backend } = harness();
    const response = await call("GET", `/v1/${collection}/t-1`);
    assertEquals(response.status, 200);
    assertEquals(backend.last.address, address);
    assertEquals(backend.last.op, "read");
    assertEquals(backend.last.command, undefined);
    assertEquals(backend.last.deadline, now + 5000);
  });
}

Deno.test("path ids are decoded, and ids that are no address part are 404", async () => {
  const { call, backend } = harness();
  assertEquals((await call("GET", "/v1/tickets/a%3Ab")).status, 200);
  assertEquals(backend.last.address.id, "a:b");
  await expectError(await call("GET", "/v1/tickets/a%2Fb"), 404, { code: "not_found" });
  await expectError(await call("GET", `/v1/tickets/${"x".repeat(129)}`), 404, {
    code: "not_found",
  });
  await expectError(await call("GET", "/v1/tickets/%E0%A4%A"), 404, { code: "not_found" });
  assertEquals(backend.requests.length, 1);
});

// Each list, the actor kind it lists, a status it filters on and one of the other's.
// Conversations are listed with the caller's unread count.
const lists = [
  ["/v1/tickets", "ticket", "pending", "queued", {}],
  ["/v1/conversations", "session", "queued", "pending", { unread: 0 }],
] as const;

for (const [path, kind, status, otherStatus, listed] of lists) {
  Deno.test(`GET ${path} lists the token's tenant with defaults and filters`, async () => {
    const { call, backend } = harness();
    const response = await call("GET", path, { token: { tenant: "acme" } });
    assertEquals(response.status, 200);
    assertEquals(await response.json(), { items: [{ id: "t1", ...listed }], nextCursor: "next" });
    assertEquals(backend.listCalls[0], { kind, tenant: "acme", limit: 50 });

    await call("GET", `${path}?status=${status}&assignee=bob&limit=200&cursor=abc&tenant=x`);
    assertEquals(backend.listCalls[1], {
      kind,
      tenant: "demo",
      status,
      assignee: "bob",
      limit: 200,
      cursor: "abc",
    });
  });

  Deno.test(`GET ${path} validates its query`, async () => {
    const { call, backend } = harness();
    for (
      const [query, field] of [
        ["limit=0", "limit"],
        ["limit=201", "limit"],
        ["limit=ten", "limit"],
        ["limit=1.5", "limit"],
        ["status=open", "status"],
        [`status=${otherStatus}`, "status"],
        ["assignee=", "assignee"],
        ["cursor=", "cursor"],
      ]
    ) {
      await expectError(await call("GET", `${path}?${query}`), 400, {
        code: "validation",
        field,
      });
    }
    assertEquals(backend.listCalls.length, 0);
  });
}

Deno.test("GET /v1/tickets/{id}/events pages the ticket's history", async () => {
  const { call, backend } = harness();
  const response = await call("GET", "/v1/tickets/t-1/events");
  assertEquals(response.status, 200);
  const page = await response.json();
  assertEquals(page.nextCursor, null);
  assertEquals(page.items[0].seq, 1);
  assertEquals(backend.eventCalls[0], [ticketAddress("t-1"), 0, 50]);
  await call("GET", "/v1/tickets/t-1/events?after=7&limit=3", { token: { tenant: "acme" } });
  assertEquals(backend.eventCalls[1], [ticketAddress("t-1", "acme"), 7, 3]);
  await expectError(await call("GET", "/v1/tickets/t-1/events?after=-1"), 400, {
    field: "after",
  });
});

Deno.test("GET /v1/conversations/{id}/messages pages every message by seq", async () => {
  const { call, backend } = harness();
  const calls = scriptMessages(backend, [1, 2, 3].map(systemMessage));
  const all = await call("GET", "/v1/conversations/c-1/messages");
  assertEquals(all.status, 200);
  assertEquals(await all.json(), { items: [1, 2, 3].map(systemMessage), nextCursor: null });
  assertEquals(calls[0], [conversationAddress("c-1"), "seq", 0, 50]);

  const first = await call("GET", "/v1/conversations/c-1/messages?limit=2", {
    token: { tenant: "acme" },
  });
  assertEquals(await first.json(), { items: [1, 2].map(systemMessage), nextCursor: "2" });
  assertEquals(calls[1], [conversationAddress("c-1", "acme"), "seq", 0, 2]);
  const rest = await call("GET", "/v1/conversations/c-1/messages?after=2&limit=2");
  assertEquals(await rest.json(), { items: [systemMessage(3)], nextCursor: null });
  assertEquals(calls[2], [conversationAddress("c-1"), "seq", 2, 2]);

  for (const [query, field] of [["after=-1", "after"], ["limit=0", "limit"]]) {
    await expectError(await call("GET", `/v1/conversations/c-1/messages?${query}`), 400, {
      code: "validation",
      field,
    });
  }
  assertEquals(calls.length, 3);
});

Deno.test("GET /v1/conversations/{id}/messages: no first message is no conversation", async () => {
  const { call, backend } = harness();
  scriptMessages(backend, []);
  const error = await expectError(await call("GET", "/v1/conversations/c-1/messages"), 404, {
    code: "not_found",
  });
  assertMatch(error.message as string, /conversation c-1/);
  const beyond = await call("GET", "/v1/conversations/c-1/messages?after=9");
  assertEquals(await beyond.json(), { items: [], nextCursor: null });
});

Deno.test("conversation commands validate their fields", async () => {
  const { call, backend } = harness();
  const refused: [string, unknown, string][] = [
    ["transfer", {}, "to"],
    ["transfer", { to: "" }, "to"],
    ["transfer", { to: { agent: "bob" } }, "to"],
    ["transfer", { to: "bob", reason: "" }, "reason"],
    ["transfer", { to: "bob", reason: "x".repeat(501) }, "reason"],
    ["transfer", { to: "bob", team: "billing" }, "team"],
    ["claim", { agent: "bob" }, "agent"],
    ["close", { reason: "done" }, "reason"],
  ];
  for (const [action, body, field] of refused) {
    const response = await call("POST", `/v1/conversations/c/${action}`, { body });
    await expectError(response, 400, { code: "validation", field });
  }
  assertEquals(backend.requests.length, 0);
});

Deno.test("conversations are for staff: visitors get 403 on every route, agents are served", async () => {
  const { call, backend } = harness();
  const messageCalls = scriptMessages(backend, [systemMessage(1)]);
  const reached = () =>
    backend.requests.length + backend.listCalls.length + messageCalls.length +
    backend.eventCalls.length;
  const served = routes.filter((route) => route.path.startsWith("/v1/conversations"));
  assertEquals(served.map((route) => route.operationId), [
    "listConversations",
    "getConversation",
    "listConversationMessages",
    "listConversationEvents",
    "claimConversation",
    "transferConversation",
    "closeConversation",
  ]);
  for (const route of served) {
    const path = route.path.replace("{id}", "c-1");
    const body = route.path.endsWith("/transfer") ? { to: "bob" } : undefined;
    const before = reached();
    await expectError(
      await call(route.method, path, { token: { sub: "v-1", role: "visitor" }, body }),
      403,
      { code: "forbidden" },
    );
    assertEquals(reached(), before, `a visitor reached ${route.operationId}`);
    assertEquals((await call(route.method, path, { body })).status, 200, route.operationId);
    assertEquals(reached(), before + 1);
  }
});

Deno.test("visitors may create and command but not read, list or audit", async () => {
  const { call, backend } = harness();
  const visitor = { sub: "v-1", role: "visitor" as const };
  assertEquals(
    (await call("POST", "/v1/tickets", { token: visitor, body: { subject: "s", body: "b" } }))
      .status,
    201,
  );
  assertEquals(backend.last.command?.by, visitor);
  assertEquals(
    (await call("POST", "/v1/tickets/t/comments", { token: visitor, body: { body: "b" } })).status,
    200,
  );
  for (const path of ["/v1/tickets", "/v1/tickets/t", "/v1/tickets/t/events"]) {
    await expectError(await call("GET", path, { token: visitor }), 403, { code: "forbidden" });
  }
  assertEquals(backend.requests.length, 2);
});

Deno.test("GET /v1/admin/cluster answers the ops credential only, never a tenant's role", async () => {
  const { call } = harness();
  const ops = await signOpsToken(secret, "oncall", 60, { now });
  const response = await call("GET", "/v1/admin/cluster", { token: ops });
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { epoch: 3, viewId: "v3", nodes: [], edges: ["e1"] });
  for (const role of ["visitor", "agent", "supervisor", "admin"] as const) {
    const refused = await expectError(
      await call("GET", "/v1/admin/cluster", { token: { role } }),
      403,
      { code: "forbidden" },
    );
    assertStringIncludes(String(refused.message), "ops credential");
  }
  await expectError(await call("GET", "/v1/admin/cluster", { token: null }), 401, {
    code: "unauthorized",
  });
  const forged = await signOpsToken("another-secret-0123456789abcdef", "oncall", 60, { now });
  await expectError(await call("GET", "/v1/admin/cluster", { token: forged }), 401, {
    code: "unauthorized",
  });
  // Nor does the ops credential act in any tenant.
  await expectError(await call("GET", "/v1/tickets", { token: ops }), 401, {
    code: "unauthorized",
  });
});

Deno.test("GET /v1/admin/dead-letters shows parked outbox commands to the ops credential only", async () => {
  const { call, backend } = harness();
  const parked = { actorKey: "session/acme/c1", commandId: "s:convert:c1", failedAt: 5 };
  backend.deadLetters = () => Promise.resolve([parked]);
  const ops = await signOpsToken(secret, "oncall", 60, { now });
  const response = await call("GET", "/v1/admin/dead-letters", { token: ops });
  assertEquals(response.status, 200);
  assertEquals(await response.json(), { items: [parked] });
  await expectError(
    await call("GET", "/v1/admin/dead-letters", { token: { role: "admin" } }),
    403,
    { code: "forbidden" },
  );
});

Deno.test("tenant settings: admins replace them for their own tenant, bad values are refused", async () => {
  const { call, backend } = harness();
  const sla = { urgent: { firstResponseMinutes: 5, resolutionMinutes: 60 } };
  const put = await call("POST", "/v1/admin/settings", {
    token: { role: "admin", tenant: "acme" },
    body: { sla, reopenWindowMinutes: 60 },
  });
  assertEquals(put.status, 200);
  const effective = await put.json();
  assertEquals([effective.sla.urgent, effective.reopenWindowMinutes], [sla.urgent, 60]);
  assertEquals(backend.settingsCalls.at(-1), ["acme", { sla, reopenWindowMinutes: 60 }]);
  await expectError(
    await call("POST", "/v1/admin/settings", { token: { role: "supervisor" }, body: {} }),
    403,
    { code: "forbidden" },
  );
  for (
    const body of [{ reopenWindowMinutes: -1 }, {
      sla: { urgent: { firstResponseMinutes: 0, resolutionMinutes: 1 } },
    }, { tenant: "other" }]
  ) {
    await expectError(
      await call("POST", "/v1/admin/settings", { token: { role: "admin" }, body }),
      400,
      { code: "validation" },
    );
  }
  const read = await call("GET", "/v1/admin/settings", { token: { role: "supervisor" } });
  assertEquals(read.status, 200);
  assertEquals((await read.json()).sla.normal, effectiveSettings(null).sla.normal);
});

// --- authentication --------------------------------------------------------

function base64url(value: unknown): string {
  return btoa(JSON.stringify(value)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

Deno.test("requests without a valid bearer token are 401 and reach no actor", async () => {
  const { call, backend } = harness();
  const expired = await signToken(secret, { sub: "a", tenant: "demo", role: "agent" }, 60, {
    now: now - 120_000,
  });
  const forged = await signToken(
    "another-secret",
    { sub: "a", tenant: "demo", role: "admin" },
    60,
    {
      now,
    },
  );
  const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${
    base64url({ sub: "a", tenant: "demo", role: "admin", exp: now / 1000 + 60 })
  }.`;
  const cases: [string | null, string, RegExp][] = [
    [null, "", /missing/],
    [null, "Basic YWxpY2U6cHc=", /Bearer/],
    ["not-a-jwt", "", /not a valid JWT/],
    [expired, "", /expired/],
    [forged, "", /signature/],
    [unsigned, "", /HS256|not a valid JWT/],
  ];
  for (const [token, authorization, message] of cases) {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const response = await call("POST", "/v1/tickets/t/claim", { token, headers });
    assertEquals(response.headers.get("www-authenticate"), 'Bearer realm="switchboard"');
    const error = await expectError(response, 401, { code: "unauthorized" });
    assertMatch(error.message as string, message);
  }
  assertEquals(backend.requests.length, 0);
});

Deno.test("tokens with missing or bad claims are 401", async () => {
  const { call } = harness();
  const { SignJWT } = await import("jose");
  const key = new TextEncoder().encode(secret);
  const exp = now / 1000 + 60;
  for (
    const [claims, message] of [
      [{ tenant: "demo", role: "agent", exp }, /sub/],
      [{ sub: "a", role: "agent", exp }, /tenant/],
      [{ sub: "a", tenant: "demo", exp }, /role/],
      [{ sub: "a", tenant: "demo", role: "root", exp }, /role/],
      [{ sub: "a", tenant: "de/mo", role: "agent", exp }, /tenant/],
      [{ sub: "a", tenant: "demo", role: "agent" }, /exp/],
    ] as const
  ) {
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: "HS256" }).sign(key);
    const error = await expectError(await call("GET", "/v1/tickets", { token }), 401, {
      code: "unauthorized",
    });
    assertMatch(error.message as string, message);
  }
});

// --- validation ------------------------------------------------------------

const validCreate = { subject: "s", body: "b" };

Deno.test("create validates each field at its boundaries", async () => {
  const { call, backend } = harness();
  const accepted = [
    { subject: "x".repeat(200) },
    { body: "x".repeat(20_000) },
    { tags: Array.from({ length: 20 }, (_, i) => `t${i}`) },
    { tags: ["x".repeat(40)] },
    { tags: [] },
    { priority: "low" },
    { team: "billing-2" },
    { requester: "customer-7" },
  ];
  for (const fields of accepted) {
    const response = await call("POST", "/v1/tickets", { body: { ...validCreate, ...fields } });
    assertEquals(response.status, 201, JSON.stringify(fields));
  }
  const refused: [Record<string, unknown>, string, RegExp][] = [
    [{ subject: "" }, "subject", /at least 1/],
    [{ subject: "x".repeat(201) }, "subject", /at most 200/],
    [{ subject: 7 }, "subject", /string/],
    [{ subject: undefined }, "subject", /required/],
    [{ body: "" }, "body", /at least 1/],
    [{ body: "x".repeat(20_001) }, "body", /at most 20000/],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, "tags", /at most 20/],
    [{ tags: ["ok", "x".repeat(41)] }, "tags.1", /at most 40/],
    [{ tags: [""] }, "tags.0", /at least 1/],
    [{ tags: "vip" }, "tags", /array/],
    [{ priority: "meh" }, "priority", /low, normal, high, urgent/],
    [{ team: "bad team" }, "team", /letters/],
    [{ requester: "" }, "requester", /at least 1/],
    [{ colour: "red" }, "colour", /unknown field/],
  ];
  for (const [fields, field, message] of refused) {
    const response = await call("POST", "/v1/tickets", { body: { ...validCreate, ...fields } });
    const error = await expectError(response, 400, { code: "validation", field });
    assertMatch(error.message as string, message);
  }
  assertEquals(backend.requests.length, accepted.length);
});

Deno.test("commands validate their fields", async () => {
  const { call, backend } = harness();
  const refused: [string, unknown, string][] = [
    ["assign", {}, "agent"],
    ["assign", { agent: "" }, "agent"],
    ["transfer", { to: {}, reason: "r" }, "to"],
    ["transfer", { to: { agent: "a", team: "t" }, reason: "r" }, "to"],
    ["transfer", { to: { team: "t" }, reason: "" }, "reason"],
    ["transfer", { to: { team: "t" }, reason: "x".repeat(501) }, "reason"],
    ["comments", { body: "" }, "body"],
    ["comments", { body: "b", visibility: "secret" }, "visibility"],
    ["comments", { body: "b", pending: "yes" }, "pending"],
    ["priority", { priority: "asap" }, "priority"],
    ["tags", { tags: [] }, "tags"],
    ["untag", {}, "tags"],
    ["escalate", { level: 0, reason: "r" }, "level"],
    ["escalate", { level: 1.5, reason: "r" }, "level"],
    ["escalate", { level: "2", reason: "r" }, "level"],
    ["claim", { agent: "bob" }, "agent"],
    ["close", { by: { sub: "root", role: "admin" } }, "by"],
  ];
  for (const [action, body, field] of refused) {
    const response = await call("POST", `/v1/tickets/t/${action}`, { body });
    await expectError(response, 400, { code: "validation", field });
  }
  assertEquals(backend.requests.length, 0);
  const boundary = await call("POST", "/v1/tickets/t/transfer", {
    body: { to: { team: "t" }, reason: "x".repeat(500) },
  });
  assertEquals(boundary.status, 200);
});

Deno.test("bodies that are not JSON objects are 400", async () => {
  const { call } = harness();
  await expectError(await call("POST", "/v1/tickets", { body: "{subject:" }), 400, {
    code: "malformed_json",
  });
  await expectError(await call("POST", "/v1/tickets", { body: "[1]" }), 400, {
    code: "validation",
  });
  await expectError(await call("POST", "/v1/tickets", { body: "null" }), 400, {
    code: "validation",
  });
});

Deno.test("bodies over 64 KiB are 413 whatever Content-Length says", async () => {
  const { call, backend } = harness();
  const huge = JSON.stringify({ ...validCreate, body: "x".repeat(64 * 1024) });
  await expectError(await call("POST", "/v1/tickets", { body: huge }), 413, {
    code: "payload_too_large",
  });
  const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent++;
      controller.enqueue(chunk);
    },
  });
  await expectError(await call("POST", "/v1/tickets", { body: endless }), 413, {
    code: "payload_too_large",
  });
  assert(sent <= 6, `read ${sent} chunks of an endless body`);
  await expectError(
    await call("POST", "/v1/tickets", {
      body: "{}",
      headers: { "content-length": String(64 * 1024 + 1) },
    }),
    413,
    { code: "payload_too_large" },
  );
  assertEquals(backend.requests.length, 0);
});

Deno.test("a body of exactly 64 KiB is read and validated", async () => {
  const { call } = harness();
  const padding = 64 * 1024 - JSON.stringify({ ...validCreate, body: "" }).length;
  const body = JSON.stringify({ ...validCreate, body: "x".repeat(padding) });
  assertEquals(new TextEncoder().encode(body).length, 64 * 1024);
  await expectError(await call("POST", "/v1/tickets", { body }), 400, { field: "body" });
});

Deno.test("bodies that are not declared JSON are 415; an empty body needs no type", async () => {
  const { call } = harness();
  for (
    const contentType of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
  ) {
    const response = await call("POST", "/v1/tickets", {
      body: JSON.stringify(validCreate),
      headers: { "content-type": contentType },
    });
    await expectError(response, 415, { code: "unsupported_media_type" });
  }
  for (const contentType of ["application/json; charset=utf-8", "application/merge-patch+json"]) {
    const response = await call("POST", "/v1/tickets", {
      body: JSON.stringify(validCreate),
      headers: { "content-type": contentType },
    });
    assertEquals(response.status, 201);
  }
  assertEquals(
    (await call("POST", "/v1/tickets/t/claim", { headers: { "content-type": "text/plain" } }))
      .status,
    200,
  );
  assertEquals((await call("POST", "/v1/tickets/t/claim", { body: "" })).status, 200);
});

// --- routing ---------------------------------------------------------------

Deno.test("unknown routes are 404 and wrong methods 405 with Allow", async () => {
  const { call } = harness();
  for (const path of ["/", "/v1", "/v1/tickets/t/bogus", "/v1/tickets/", "/v2/tickets"]) {
    await expectError(await call("GET", path), 404, { code: "not_found" });
  }
  const wrong: [string, string, string][] = [
    ["DELETE", "/v1/tickets", "POST, GET"],
    ["PUT", "/v1/tickets/t", "GET"],
    ["GET", "/v1/tickets/t/claim", "POST"],
    ["POST", "/healthz", "GET"],
  ];
  for (const [method, path, allow] of wrong) {
    const response = await call(method, path, { body: method === "GET" ? undefined : {} });
    assertEquals(response.headers.get("allow"), allow);
    await expectError(response, 405, { code: "method_not_allowed" });
  }
});

// --- idempotency -----------------------------------------------------------

Deno.test("Idempotency-Key becomes the command id, scoped to the caller, with the request's fingerprint", async () => {
  const { call, backend } = harness();
  await call("POST", "/v1/tickets/t/claim", { headers: { "idempotency-key": "retry-1" } });
  assertEquals(backend.last.commandId, "c:agent:alice:retry-1");
  const fingerprint = backend.last.fingerprint;
  assertMatch(fingerprint!, /^[A-Za-z0-9_-]{43}$/);
  await call("POST", "/v1/tickets/t/claim", {
    token: { sub: "bob" },
    headers: { "idempotency-key": "retry-1" },
  });
  assertEquals(backend.last.commandId, "c:agent:bob:retry-1");
  assertEquals(backend.last.fingerprint, fingerprint, "the same request");
  await call("POST", "/v1/tickets/u/claim", { headers: { "idempotency-key": "retry-1" } });
  assertNotEquals(backend.last.fingerprint, fingerprint, "another path");
  // A sub with a `:` cannot pose as another principal's key.
  await call("POST", "/v1/tickets/t/claim", {
    token: { sub: "alice:retry" },
    headers: { "idempotency-key": "1" },
  });
  assertEquals(backend.last.commandId, "c:agent:alice%3Aretry:1");
  await call("POST", "/v1/tickets/t/claim");
  await call("POST", "/v1/tickets/t/claim");
  const [a, b] = backend.requests.slice(-2).map((request) => request.commandId);
  assertNotEquals(a, b);
  // Only the edge holds a keyless request's id, so the runtime need not remember a refusal of it.
  assertEquals(backend.requests.slice(-2).map((request) => request.unkeyed), [true, true]);
  assertEquals(backend.requests.at(-3)?.unkeyed, undefined);
  await call("POST", "/v1/conversations/c/claim", { headers: { "idempotency-key": "retry-1" } });
  assertEquals(backend.last.commandId, "c:agent:alice:retry-1");
});

Deno.test("a create with an Idempotency-Key always targets the same ticket id", async () => {
  const { call, backend } = harness();
  const create = async (key: string, claims: { sub?: string; tenant?: string } = {}) => {
    await call("POST", "/v1/tickets", {
      token: claims,
      body: validCreate,
      headers: { "idempotency-key": key },
    });
    return backend.last.address.id;
  };
  const first = await create("k1");
  assertEquals(await create("k1"), first);
  assertMatch(first, /^z[0-9a-hjkmnp-tv-z]{25}$/);
  assertEquals(backend.last.commandId, "c:agent:alice:k1");
  assertEquals(backend.last.fresh, undefined, "a retry may find the ticket already there");
  const others = [
    await create("k2"),
    await create("k1", { sub: "bob" }),
    await create("k1", { tenant: "acme" }),
  ];
  assertEquals(new Set([first, ...others]).size, 4);
});

Deno.test("fresh ticket ids are ULID-like and sort by creation time", () => {
  const ids = [now, now + 1, now + 60_000, now + 1].map(newId);
  for (const id of ids) assertMatch(id, /^[0-7][0-9a-hjkmnp-tv-z]{25}$/);
  assertEquals([ids[0], ids[1], ids[2]].toSorted(), [ids[0], ids[1], ids[2]]);
  assertNotEquals(ids[1], ids[3]);
});

Deno.test("malformed Idempotency-Keys are 400", async () => {
  const { call, backend } = harness();
  for (const key of ["has space", "x".repeat(201), "é", "a/b"]) {
    const response = await call("POST", "/v1/tickets/t/claim", {
      headers: { "idempotency-key": key },
    });
    await expectError(response, 400, { code: "validation", field: "Idempotency-Key" });
  }
  assertEquals(
    (await call("POST", "/v1/tickets/t/claim", { headers: { "idempotency-key": "x".repeat(200) } }))
      .status,
    200,
  );
  assertEquals(backend.requests.length, 1);
});

// --- status codes ----------------------------------------------------------

function rejection(code: string, extra: Record<string, unknown> = {}): ActorResponse {
  return { ok: false, error: { code, message: `because ${code}`, retryable: false, ...extra } };
}

Deno.test("actor rejections map to status codes by family", async () => {
  const { call, backend } = harness();
  const cases: [ActorResponse, number, Record<string, unknown>][] = [
    [rejection("validation", { field: "agent" }), 400, { code: "validation", field: "agent" }],
    [rejection("forbidden"), 403, { code: "forbidden" }],
    [rejection("not_found"), 404, { code: "not_found" }],
    [
      rejection("already_claimed", { details: { owner: "bob" } }),
      409,
      { code: "already_claimed", details: { owner: "bob" } },
    ],
    [rejection("invalid_transition"), 409, { code: "invalid_transition" }],
    [rejection("already_exists"), 409, { code: "already_exists" }],
    [rejection("ticket_closed"), 409, { code: "ticket_closed" }],
    [rejection("some_future_rule"), 409, { code: "some_future_rule" }],
    [rejection("rate_limited"), 429, { code: "rate_limited" }],
    [rejection("unknown_kind"), 500, { code: "unknown_kind" }],
  ];
  for (const [answer, status, expected] of cases) {
    backend.answer = () => answer;
    const response = await call("POST", "/v1/tickets/t/claim");
    const error = await expectError(response, status, expected);
    assertEquals(error.message, `because ${expected.code}`);
    assertEquals(response.headers.get("retry-after"), null);
  }
});

Deno.test("retryable runtime failures are 503 with Retry-After and a generic message; the cause is logged", async () => {
  const { call, backend, logs } = harness();
  for (const code of [...retryableCodes, "fresh_transient"]) {
    const internal = `connect ECONNREFUSED 10.1.2.3:5432 (${code}) relation "sb_x.events"`;
    backend.answer = () => ({
      ok: false,
      error: { code, message: internal, retryable: true },
    });
    const response = await call("GET", "/v1/tickets/t");
    assertEquals(response.headers.get("retry-after"), "1");
    const error = await expectError(response, 503, { code });
    const message = String(error.message);
    assert(!message.includes("10.1.2.3") && !message.includes("sb_x"), message);
    assert(logs.some((line) => line.error === internal && line.code === code), "logged");
  }
});

Deno.test("a backend that does not answer in time is a 503 timeout", async () => {
  const { call, backend } = harness({ requestTimeoutMs: 20 });
  backend.answer = () => new Promise(() => {});
  const response = await call("POST", "/v1/tickets/t/claim");
  assertEquals(response.headers.get("retry-after"), "1");
  await expectError(response, 503, { code: "timeout" });
  assertEquals(backend.last.deadline, now + 20);
});

Deno.test("a throwing backend is a logged 500 and the next request is served", async () => {
  const { call, backend, logs } = harness();
  backend.answer = () => {
    throw new Error("database exploded");
  };
  const error = await expectError(await call("POST", "/v1/tickets/t/claim"), 500, {
    code: "internal",
  });
  assert(!(error.message as string).includes("exploded"), "internal details leak to the client");
  assertEquals(logs.length, 1);
  assertObjectMatch(logs[0], {
    level: "error",
    method: "POST",
    route: "/v1/tickets/{id}/claim",
    error: "Error: database exploded",
  });
  backend.answer = () => ({ ok: true, reply: { fine: true }, seq: 2 });
  const next = await call("POST", "/v1/tickets/t/claim");
  assertEquals(next.status, 200);
  assertEquals(await next.json(), { fine: true });
});

Deno.test("over the rate limit is 429 with Retry-After, per caller and per tenant", async () => {
  const limits = callerLimiter(
    new MemoryBudgetBank({ now: () => now }),
    { tenantRatePerSecond: 1, callerRatePerSecond: 0.5 },
  );
  const { call, backend } = harness({ rateLimiter: limits });
  assertEquals((await call("POST", "/v1/tickets/t/claim")).status, 200);
  const limited = await call("POST", "/v1/tickets/t/claim");
  assertEquals(limited.headers.get("retry-after"), "2");
  await expectError(limited, 429, {
    code: "rate_limited",
    message: "too many requests for this caller",
  });
  const bob = { sub: "bob" };
  assertEquals((await call("POST", "/v1/tickets/t/claim", { token: bob })).status, 200);
  await expectError(await call("POST", "/v1/tickets/t/claim", { token: { sub: "carol" } }), 429, {
    message: "too many requests for this tenant",
  });
  assertEquals(
    (await call("POST", "/v1/tickets/t/claim", { token: { tenant: "acme" } })).status,
    200,
  );
  assertEquals(backend.requests.length, 3);
});

Deno.test("token buckets refill at their rate up to the burst", () => {
  let at = now;
  const limiter = new TokenBucketLimiter({ ratePerSecond: 2, burst: 3, now: () => at });
  const take = () => limiter.take("k").allowed;
  assertEquals([take(), take(), take(), take()], [true, true, true, false]);
  assertEquals(limiter.take("k"), { allowed: false, retryAfterMs: 500 });
  at += 500;
  assertEquals([take(), take()], [true, false]);
  at += 60_000;
  assertEquals([take(), take(), take(), take()], [true, true, true, false]);
  assertEquals(limiter.take("other").allowed, true);
});

Deno.test("a failing rate limiter lets requests through and says so", async () => {
  const { call, logs, metrics } = harness({
    rateLimiter: { take: () => Promise.reject(new Error("redis down")) },
  });
  assertEquals((await call("POST", "/v1/tickets/t/claim")).status, 200);
  assertObjectMatch(logs[0], { level: "warn", error: "Error: redis down" });
  assertMatch(metrics.render(), /^sb_rate_limiter_failures_total 1$/m);
});

// --- ops routes ------------------------------------------------------------

Deno.test("/healthz is always 200 and /readyz follows the backend", async () => {
  const { call, backend } = harness();
  assertEquals((await call("GET", "/healthz", { token: null })).status, 200);
  assertEquals((await call("GET", "/readyz", { token: null })).status, 200);
  backend.isReady = false;
  assertEquals((await call("GET", "/healthz", { token: null })).status, 200);
  const notReady = await call("GET", "/readyz", { token: null });
  assertEquals(notReady.headers.get("retry-after"), "1");
  await expectError(notReady, 503, { code: "not_ready" });
});

Deno.test("/metrics serves parseable Prometheus text with the HTTP metrics", async () => {
  const { call, metrics } = harness();
  metrics.callbackGauge({ name: "sb_test_open_sockets", help: "Sockets.", collect: () => 3 });
  await call("POST", "/v1/tickets", { body: validCreate });
  await call("GET", "/v1/nowhere");
  const response = await call("GET", "/metrics", { token: null });
  assertEquals(response.status, 200);
  assertMatch(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const sample =
    /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? -?[0-9.e+-]+|\+Inf$/;
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assertMatch(line, sample);
  }
  assertMatch(
    text,
    /^sb_http_requests_total\{method="POST",route="\/v1\/tickets",status="201"\} 1$/m,
  );
  assertMatch(text, /^sb_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
  assertMatch(
    text,
    /^sb_http_request_duration_seconds_count\{method="POST",route="\/v1\/tickets"\} 1$/m,
  );
  assertMatch(text, /^sb_test_open_sockets 3$/m);
});

Deno.test("/v1/openapi.json documents every route the router serves", async () => {
  const { call, backend } = harness();
  scriptMessages(backend, [systemMessage(1)]);
  const response = await call("GET", "/v1/openapi.json", { token: null });
  assertEquals(response.status, 200);
  const doc = await response.json();
  assertEquals(doc.openapi, "3.1.0");
  assertObjectMatch(doc.components.securitySchemes.bearer, { type: "http", scheme: "bearer" });
  assertExists(doc.components.schemas.Error);
  const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
    .flatMap(([path, operations]) =>
      Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`)
    );
  assertEquals(documented.sort(), routes.map((route) => `${route.method} ${route.path}`).sort());
  for (const entry of documented) {
    const [method, path] = entry.split(" ");
    const served = await call(method, path.replace("{id}", "t-1"), {
      body: method === "POST" ? {} : undefined,
    });
    assert(![404, 405].includes(served.status), `${entry} is not served`);
    await served.body?.cancel();
  }
  const create = doc.paths["/v1/tickets"].post;
  assertEquals(create.requestBody.content["application/json"].schema.properties.subject, {
    type: "string",
    minLength: 1,
    maxLength: 200,
  });
  assertExists(create.responses["409"]);
  const list = doc.paths["/v1/tickets"].get;
  assertObjectMatch(list.parameters.find((p: { name: string }) => p.name === "limit"), {
    in: "query",
    required: false,
    schema: { type: "integer", minimum: 1, maximum: 200 },
  });
  const conversations = doc.paths["/v1/conversations"].get;
  assertEquals(conversations["x-roles"], ["agent", "supervisor", "admin"]);
  assertEquals(
    conversations.parameters.find((p: { name: string }) => p.name === "status").schema.enum,
    ["queued", "assigned", "closed"],
  );
  assertEquals(conversations.responses["200"].content["application/json"].schema, {
    $ref: "#/components/schemas/ConversationPage",
  });
  const transfer = doc.paths["/v1/conversations/{id}/transfer"].post;
  assertEquals(transfer.operationId, "transferConversation");
  assertEquals(transfer.requestBody.content["application/json"].schema.required, ["to"]);
  assertEquals(transfer.responses["200"].content["application/json"].schema, {
    $ref: "#/components/schemas/Conversation",
  });
  const messages = doc.paths["/v1/conversations/{id}/messages"].get;
  assertEquals(messages.responses["200"].content["application/json"].schema, {
    $ref: "#/components/schemas/MessagePage",
  });
  assertEquals(doc.components.schemas.MessagePage.properties.items.items, {
    $ref: "#/components/schemas/Message",
  });
  assertExists(doc.components.schemas.Message.properties.author);
});

// --- tracing ---------------------------------------------------------------

/** The W3C traceparent format, enough to see the edge pass the context on. */
const w3cPropagator: TextMapPropagator = {
  inject(context: Context, carrier, setter) {
    const span = trace.getSpanContext(context);
    if (!span || !isSpanContextValid(span)) return;
    const flags = span.traceFlags & TraceFlags.SAMPLED ? "01" : "00";
    setter.set(carrier, "traceparent", `00-${span.traceId}-${span.spanId}-${flags}`);
  },
  extract(context: Context, carrier, getter) {
    const header = getter.get(carrier, "traceparent");
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(header ?? ""));
    if (!match) return context;
    return trace.setSpanContext(context, {
      traceId: match[1],
      spanId: match[2],
      traceFlags: Number.parseInt(match[3], 16),
      isRemote: true,
    });
  },
  fields: () => ["traceparent"],
};

Deno.test("the caller's trace context is passed to the actor as traceparent", async () => {
  propagation.setGlobalPropagator(w3cPropagator);
  try {
    const { call, backend } = harness();
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await call("POST", "/v1/tickets/t/claim", { headers: { traceparent } });
    // With no tracer provider the edge's span is the caller's own context.
    assertEquals(backend.last.traceparent, traceparent);
    await call("POST", "/v1/tickets/t/claim");
    assertEquals(backend.last.traceparent, undefined);
  } finally {
    propagation.disable();
  }
});

Deno.test("in-memory token buckets are bounded: full buckets are dropped, and past maxKeys the least recently used", () => {
  let at = now;
  const limiter = new TokenBucketLimiter({
    ratePerSecond: 1,
    burst: 2,
    maxKeys: 100,
    now: () => at,
  });
  for (let i = 0; i < 1000; i++) limiter.take(`198.51.100.${i}`);
  assertEquals(limiter.size, 100);
  // The most recent keys keep their spent buckets.
  assertEquals([limiter.take("198.51.100.999").allowed, limiter.take("198.51.100.999").allowed], [
    true,
    false,
  ]);
  at += 2000;
  limiter.take("fresh");
  assertEquals(limiter.size, 1, "every bucket idle long enough to be full again is gone");
});

Deno.test("a declared empty body is a command without arguments, whatever its type", async () => {
  const { call, backend } = harness();
  const response = await call("POST", "/v1/tickets/t/claim", {
    headers: { "content-length": "0", "content-type": "text/plain" },
  });
  assertEquals(response.status, 200);
  assertEquals(backend.last.command?.type, "claim");
});
