// The widget bootstrap, `POST /v1/widget/sessions`: unit tests over the
// scripted Backend, then the real runtime on Postgres.
import { assert, assertEquals, assertExists, assertMatch, assertNotEquals } from "@std/assert";
import type { StoredTenantSettings } from "../actors/decider.ts";
import { actorKey } from "../cluster/actor_key.ts";
import { verifyToken } from "../edge/auth/auth.ts";
import { TokenBucketLimiter } from "../edge/limits/rate_limit.ts";
import { call as fetchJson, JWT_SECRET, startApiServer } from "./_support/api_server.ts";
import { identityHash as signVisitor } from "./_support/identity_hash.ts";
import { expectError, harness, now, secret } from "./_support/scripted_backend.ts";
import { WsClient } from "./_support/ws_client.ts";

const path = "/v1/widget/sessions";
const widgetKey = "wk_acme_0123456789abcdef";
const identitySecret = "identity-secret-0123456789abcdef";

/** The hash a tenant's server would send for `visitorId`. */
function identityHash(visitorId: string, key = identitySecret): Promise<string> {
  return signVisitor(visitorId, key);
}

/** The scripted handler with tenant `acme` owning the widget `widget`. */
function widgetHarness(
  widget: StoredTenantSettings["widget"] = { key: widgetKey, identitySecret },
  options: Parameters<typeof harness>[0] = {},
) {
  const rig = harness(options);
  rig.backend.stored.set("acme", { widget });
  const bootstrap = (
    body: unknown,
    init: { from?: string; headers?: Record<string, string> } = {},
  ) => rig.call("POST", path, { token: null, body, ...init });
  return { ...rig, bootstrap };
}

// --- the flow ---------------------------------------------------------------

Deno.test("widget: an anonymous visitor gets a new id, a visitor token and an opened conversation", async () => {
  const { bootstrap, backend } = widgetHarness();
  const response = await bootstrap({ widgetKey });
  assertEquals(response.status, 201);
  const session = await response.json();
  assertEquals(Object.keys(session).sort(), [
    "agentsOnline",
    "conversationId",
    "expiresAt",
    "token",
    "visitorId",
  ]);
  assertEquals(session.agentsOnline, 1);
  const { conversationId, visitorId } = session;
  assertMatch(visitorId, /^anon:[0-9a-hjkmnp-tv-z]{42}$/);
  assertMatch(conversationId, /^[0-7][0-9a-hjkmnp-tv-z]{25}$/);
  assertEquals(backend.widgetKeyCalls, [widgetKey]);
  assertEquals(backend.requests, [{
    address: { kind: "session", tenant: "acme", id: conversationId },
    op: "command",
    command: {
      type: "open",
      by: { sub: visitorId, role: "visitor" },
      visitor: { id: visitorId, verified: false },
      agentsOnline: 1,
    },
    commandId: `s:open:${conversationId}`,
    deadline: now + 5000,
    fresh: true,
  }]);
  const principal = await verifyToken(secret, session.token, { now });
  assertEquals(principal, {
    sub: visitorId,
    tenant: "acme",
    role: "visitor",
    verified: false,
    exp: now / 1000 + 3600,
  });
  assertEquals(session.expiresAt, now + 3600 * 1000);
});

Deno.test("widget: every bootstrap opens its own conversation, and anonymous visitors differ", async () => {
  const { bootstrap } = widgetHarness();
  const [first, second] = [await bootstrap({ widgetKey }), await bootstrap({ widgetKey })];
  const [a, b] = [await first.json(), await second.json()];
  assertNotEquals(a.conversationId, b.conversationId);
  assertNotEquals(a.visitorId, b.visitorId);
});

Deno.test("widget: a signed visitor is verified, with name, email and the agents online", async () => {
  const { bootstrap, backend } = widgetHarness(undefined, {
    presence: { onlineAgents: (tenant) => Promise.resolve(tenant === "acme" ? 3 : 0) },
  });
  const body = {
    widgetKey,
    visitorId: "visitor-42",
    name: "Carol",
    email: "carol@example.com",
    identityHash: await identityHash("visitor-42"),
  };
  const response = await bootstrap(body);
  assertEquals(response.status, 201);
  const session = await response.json();
  assertEquals(session.visitorId, "visitor-42");
  assertEquals(backend.last.command, {
    type: "open",
    by: { sub: "visitor-42", role: "visitor" },
    visitor: { id: "visitor-42", name: "Carol", email: "carol@example.com", verified: true },
    agentsOnline: 3,
  });
  assertEquals((await verifyToken(secret, session.token, { now })).sub, "visitor-42");
});

Deno.test("widget: identityHash is hex HMAC-SHA256 of the visitor id keyed by the secret, any case", async () => {
  // Computed apart: printf visitor-42 | openssl dgst -sha256 -hmac <identitySecret>
  const known = "977a32a0dea7a95d9d6aa52104651577bc94488da022ddba270800a8db2afd46";
  assertEquals(await identityHash("visitor-42"), known);
  const { bootstrap, backend } = widgetHarness();
  const response = await bootstrap({
    widgetKey,
    visitorId: "visitor-42",
    identityHash: known.toUpperCase(),
  });
  assertEquals(response.status, 201);
  assertEquals((backend.last.command?.visitor as { verified: boolean }).verified, true);
});

Deno.test("widget: an unsigned visitorId never becomes the identity; a minted anonymous id is kept", async () => {
  const { bootstrap, backend } = widgetHarness();
  const typed = await (await bootstrap({ widgetKey, visitorId: "visitor-42" })).json();
  assertMatch(typed.visitorId, /^anon:/);
  const principal = await verifyToken(secret, typed.token, { now });
  assertEquals([principal.sub, principal.verified], [typed.visitorId, false]);
  assertEquals(backend.last.command?.visitor, { id: typed.visitorId, verified: false });

  const returning = await (await bootstrap({ widgetKey, visitorId: typed.visitorId })).json();
  assertEquals(returning.visitorId, typed.visitorId);
  assertEquals((await verifyToken(secret, returning.token, { now })).sub, typed.visitorId);

  // Forged anonymous ids: made up, another tenant's, or tampered with.
  const other = widgetHarness();
  other.backend.stored.delete("acme");
  other.backend.stored.set("globex", { widget: { key: widgetKey } });
  const globexId = (await (await other.bootstrap({ widgetKey })).json()).visitorId;
  const tampered = typed.visitorId.slice(0, 5) +
    (typed.visitorId[5] === "a" ? "b" : "a") + typed.visitorId.slice(6);
  for (const forged of [`anon:${"a".repeat(42)}`, "anon:cust-42", globexId, tampered]) {
    const answer = await (await bootstrap({ widgetKey, visitorId: forged })).json();
    assertNotEquals(answer.visitorId, forged);
    assertMatch(answer.visitorId, /^anon:/);
  }
});

Deno.test("widget: a signed visitorId in the anonymous namespace is refused", async () => {
  const { bootstrap, backend } = widgetHarness();
  const visitorId = "anon:abc";
  await expectError(
    await bootstrap({ widgetKey, visitorId, identityHash: await identityHash(visitorId) }),
    400,
    { code: "validation", field: "visitorId" },
  );
  assertEquals(backend.requests, []);
});

Deno.test("widget: an unknown key is 404 and reaches no actor", async () => {
  const { bootstrap, backend } = widgetHarness();
  const error = await expectError(await bootstrap({ widgetKey: "wk_nobody_0123456789" }), 404, {
    code: "not_found",
  });
  assertEquals(error.message, "no widget has this key");
  assertEquals(backend.requests, []);
});

Deno.test("widget: a hash that does not match the visitor id is 401 and reaches no actor", async () => {
  const { bootstrap, backend } = widgetHarness();
  const cases = [
    { visitorId: "visitor-42", identityHash: await identityHash("visitor-43") },
    {
      visitorId: "visitor-42",
      identityHash: await identityHash("visitor-42", "another-secret-0123456"),
    },
    { visitorId: "visitor-42", identityHash: "0".repeat(64) },
  ];
  for (const fields of cases) {
    await expectError(await bootstrap({ widgetKey, ...fields }), 401, {
      code: "unauthorized",
      field: "identityHash",
    });
  }
  assertEquals(backend.requests, []);
});

Deno.test("widget: a hash is refused when the tenant has no secret to check it against", async () => {
  const { bootstrap, backend } = widgetHarness({ key: widgetKey });
  const body = {
    widgetKey,
    visitorId: "visitor-42",
    identityHash: await identityHash("visitor-42"),
  };
  await expectError(await bootstrap(body), 401, { code: "unauthorized" });
  assertEquals(backend.requests, []);
  assertEquals((await bootstrap({ widgetKey, visitorId: "visitor-42" })).status, 201);
});

Deno.test("widget: a tenant that requires identity refuses unsigned visitors", async () => {
  const { bootstrap, backend } = widgetHarness({
    key: widgetKey,
    identitySecret,
    requireIdentity: true,
  });
  for (const body of [{ widgetKey }, { widgetKey, visitorId: "visitor-42" }]) {
    await expectError(await bootstrap(body), 401, { code: "identity_required" });
  }
  assertEquals(backend.requests, []);
  const signed = {
    widgetKey,
    visitorId: "visitor-42",
    identityHash: await identityHash("visitor-42"),
  };
  assertEquals((await bootstrap(signed)).status, 201);
});

Deno.test("widget: with an Idempotency-Key a visitor who kept its id retries into the same conversation", async () => {
  const { bootstrap, backend } = widgetHarness();
  const retry = async (body: Record<string, unknown>) =>
    (await (await bootstrap({ widgetKey, ...body }, { headers: { "idempotency-key": "k1" } }))
      .json()).conversationId;
  const signed = { visitorId: "visitor-42", identityHash: await identityHash("visitor-42") };
  const named = [await retry(signed), await retry(signed)];
  assertEquals(named[0], named[1]);
  assertMatch(named[0], /^z/);
  assertEquals(backend.last.commandId, `s:open:${named[0]}`);
  const anonymous = (await (await bootstrap({ widgetKey })).json()).visitorId;
  const returning = [await retry({ visitorId: anonymous }), await retry({ visitorId: anonymous })];
  assertEquals(returning[0], returning[1]);
  assertNotEquals(returning[0], named[0]);
  // An id the server did not mint is not kept, so it cannot name a conversation either.
  assertNotEquals(
    await retry({ visitorId: "visitor-42" }),
    await retry({ visitorId: "visitor-42" }),
  );
  assertNotEquals(await retry({}), await retry({}));
});

Deno.test("widget: the session actor's failures map like any actor's", async () => {
  const { bootstrap, backend } = widgetHarness();
  backend.answer = () => ({
    ok: false,
    error: { code: "overloaded", message: "busy", retryable: true },
  });
  const busy = await bootstrap({ widgetKey });
  assertEquals(busy.headers.get("retry-after"), "1");
  await expectError(busy, 503, { code: "overloaded" });
  backend.answer = () => ({
    ok: false,
    error: { code: "validation", message: "bad", retryable: false, field: "visitor.name" },
  });
  await expectError(await bootstrap({ widgetKey, name: " " }), 400, { field: "visitor.name" });
});

// --- limits and validation --------------------------------------------------

Deno.test("widget: bootstraps are rate limited per client address, before any lookup", async () => {
  const bootstrapLimiter = new TokenBucketLimiter({ ratePerSecond: 0.5, burst: 1, now: () => now });
  const { bootstrap, backend } = widgetHarness(undefined, { bootstrapLimiter });
  assertEquals((await bootstrap({ widgetKey }, { from: "198.51.100.7" })).status, 201);
  const limited = await bootstrap({ widgetKey }, { from: "198.51.100.7" });
  assertEquals(limited.headers.get("retry-after"), "2");
  await expectError(limited, 429, { code: "rate_limited" });
  assertEquals(backend.widgetKeyCalls.length, 1);
  assertEquals((await bootstrap({ widgetKey }, { from: "198.51.100.8" })).status, 201);
});

Deno.test("widget: the bootstrap needs no token and ignores the tenant limiter", async () => {
  const rateLimiter = { take: () => ({ allowed: false as const, retryAfterMs: 1000 }) };
  const { call } = widgetHarness(undefined, { rateLimiter });
  const withToken = await call("POST", path, { body: { widgetKey }, token: { role: "admin" } });
  assertEquals(withToken.status, 201);
  const session = await withToken.json();
  assertEquals((await verifyToken(secret, session.token, { now })).role, "visitor");
});

Deno.test("widget: invalid bodies are 400 naming the field", async () => {
  const { bootstrap, backend } = widgetHarness();
  const hash = "a".repeat(64);
  const cases: [Record<string, unknown>, string][] = [
    [{}, "widgetKey"],
    [{ widgetKey: "short" }, "widgetKey"],
    [{ widgetKey: "k".repeat(129) }, "widgetKey"],
    [{ widgetKey: "wk with spaces 0123456789" }, "widgetKey"],
    [{ widgetKey, visitorId: "" }, "visitorId"],
    [{ widgetKey, visitorId: "v".repeat(129) }, "visitorId"],
    [{ widgetKey, visitorId: "a/b" }, "visitorId"],
    [{ widgetKey, name: "n".repeat(201) }, "name"],
    [{ widgetKey, email: "not-an-email" }, "email"],
    [{ widgetKey, email: `${"e".repeat(320)}@x.io` }, "email"],
    [{ widgetKey, visitorId: "v1", identityHash: "a".repeat(63) }, "identityHash"],
    [{ widgetKey, visitorId: "v1", identityHash: "g".repeat(64) }, "identityHash"],
    [{ widgetKey, identityHash: hash }, "identityHash"],
    [{ widgetKey, tenant: "acme" }, "tenant"],
    [{ widgetKey, topic: "" }, "topic"],
    [{ widgetKey, topic: "bill ing" }, "topic"],
    [{ widgetKey, language: "en_US" }, "language"],
    [{ widgetKey, language: "x".repeat(36) }, "language"],
    [{ widgetKey, skills: ["billing"] }, "skills"],
  ];
  for (const [body, field] of cases) {
    await expectError(await bootstrap(body), 400, { code: "validation", field });
  }
  assertEquals([backend.widgetKeyCalls, backend.requests], [[], []]);
  assertEquals(
    (await bootstrap({ widgetKey, name: "n".repeat(200), visitorId: "a.b:c-d_1" })).status,
    201,
  );
});

Deno.test("widget: a page's topic opens the chat with the skills the tenant gave it, and the language it serves", async () => {
  const { bootstrap, backend } = widgetHarness({
    key: widgetKey,
    topics: { billing: { skills: ["billing"], optionalSkills: ["vip"] }, sales: {} },
    languages: ["de", "pt-BR"],
  });
  const opened = async (body: Record<string, unknown>) => {
    const response = await bootstrap({ widgetKey, ...body });
    assertEquals(response.status, 201, await response.clone().text());
    const { command } = backend.requests.at(-1)!;
    const { topic, language, skills } = command as Record<string, unknown>;
    return { topic, language, skills };
  };
  assertEquals(await opened({ topic: "billing", language: "de-AT" }), {
    topic: "billing",
    language: "de",
    skills: { required: ["billing"], optional: ["vip"] },
  });
  assertEquals(await opened({ topic: "sales", language: "PT-br" }), {
    topic: "sales",
    language: "pt-BR",
    skills: { required: [], optional: [] },
  });
  // A language no agent serves in, or none: routed without one.
  assertEquals(await opened({ language: "pt-PT" }), {
    topic: undefined,
    language: undefined,
    skills: undefined,
  });
  assertEquals(await opened({}), { topic: undefined, language: undefined, skills: undefined });
  const requests = backend.requests.length;
  const unknown = await bootstrap({ widgetKey, topic: "refunds" });
  await expectError(unknown, 400, { code: "unknown_topic", field: "topic" });
  // Names the tenant did not configure never reach an actor, also inherited ones.
  await expectError(await bootstrap({ widgetKey, topic: "constructor" }), 400, {
    code: "unknown_topic",
  });
  assertEquals(backend.requests.length, requests);
});

// --- tenant settings --------------------------------------------------------

Deno.test("widget settings: admins set them; the identity secret is never read back", async () => {
  const { call, backend } = harness();
  const admin = { role: "admin" as const, tenant: "acme" };
  const widget = { key: widgetKey, identitySecret, requireIdentity: true };
  const put = await call("POST", "/v1/admin/settings", { token: admin, body: { widget } });
  assertEquals(put.status, 200);
  const shown = { key: widgetKey, requireIdentity: true, hasIdentitySecret: true };
  assertEquals((await put.json()).widget, shown);
  assertEquals(backend.settingsCalls.at(-1), ["acme", { widget }]);

  backend.stored.set("acme", { widget });
  const read = await call("GET", "/v1/admin/settings", { token: admin });
  const text = await read.text();
  assert(!text.includes(identitySecret), "the secret was served");
  assertEquals(JSON.parse(text).widget, shown);
  backend.stored.set("acme", { widget: { key: widgetKey } });
  const without = await call("GET", "/v1/admin/settings", { token: admin });
  assertEquals((await without.json()).widget, { key: widgetKey, hasIdentitySecret: false });
});

Deno.test("widget settings: bad values are 400 naming the field", async () => {
  const { call } = harness();
  const cases: [Record<string, unknown>, string][] = [
    [{ key: "short" }, "widget.key"],
    [{}, "widget.key"],
    [{ key: widgetKey, identitySecret: "s".repeat(15) }, "widget.identitySecret"],
    [{ key: widgetKey, identitySecret: "s".repeat(257) }, "widget.identitySecret"],
    [{ key: widgetKey, requireIdentity: "yes" }, "widget.requireIdentity"],
    [{ key: widgetKey, requireIdentity: true }, "widget.identitySecret"],
    [{ key: widgetKey, hasIdentitySecret: true }, "widget.hasIdentitySecret"],
    [{ key: widgetKey, topics: { "bill ing": {} } }, "widget.topics.bill ing"],
    [{ key: widgetKey, topics: { billing: { skills: [" "] } } }, "widget.topics.billing.skills.0"],
    [{ key: widgetKey, topics: { billing: { team: "x" } } }, "widget.topics.billing.team"],
    [{ key: widgetKey, languages: ["english please"] }, "widget.languages.0"],
  ];
  for (const [widget, field] of cases) {
    await expectError(
      await call("POST", "/v1/admin/settings", { token: { role: "admin" }, body: { widget } }),
      400,
      { code: "validation", field },
    );
  }
});

Deno.test("widget: the OpenAPI document lists the bootstrap as public", async () => {
  const { call } = harness();
  const doc = await (await call("GET", "/v1/openapi.json", { token: null })).json();
  const operation = doc.paths[path].post;
  assertEquals([operation.operationId, operation.security], ["openWidgetSession", []]);
  assertEquals(operation["x-roles"], undefined);
  assertEquals(operation.requestBody.required, true);
  assertExists(operation.responses["201"]);
  assertExists(operation.responses["429"]);
  assertEquals(operation.responses["403"], undefined);
  assertEquals(
    doc.components.schemas.WidgetSession.required,
    ["token", "conversationId", "visitorId", "expiresAt", "agentsOnline"],
  );
});

// --- the real runtime -------------------------------------------------------

Deno.test("widget on Postgres: settings set through the admin API find the tenant by key", async () => {
  const api = await startApiServer();
  try {
    const admin = await api.token({ sub: "root", role: "admin" });
    const widget = { key: widgetKey, identitySecret, requireIdentity: true };
    const put = await fetchJson(`${api.url}/v1/admin/settings`, admin, "POST", { widget });
    assertEquals(put.status, 200);
    const read = await fetchJson(`${api.url}/v1/admin/settings`, admin, "GET");
    assertEquals(read.body.widget, {
      key: widgetKey,
      requireIdentity: true,
      hasIdentitySecret: true,
    });

    const rival = await api.token({ sub: "root", role: "admin", tenant: "globex" });
    const taken = await fetchJson(`${api.url}/v1/admin/settings`, rival, "POST", {
      widget: { key: widgetKey },
    });
    assertEquals([taken.status, (taken.body.error as { code: string }).code], [
      409,
      "widget_key_taken",
    ]);

    const bootstrap = (body: unknown) => fetchJson(`${api.url}${path}`, null, "POST", body);
    const unknown = await bootstrap({ widgetKey: "wk_nobody_0123456789" });
    assertEquals([unknown.status, (unknown.body.error as { code: string }).code], [
      404,
      "not_found",
    ]);
    const unsigned = await bootstrap({ widgetKey, visitorId: "visitor-42" });
    assertEquals((unsigned.body.error as { code: string }).code, "identity_required");
    const forged = await bootstrap({
      widgetKey,
      visitorId: "visitor-42",
      identityHash: await identityHash("visitor-43"),
    });
    assertEquals((forged.body.error as { code: string }).code, "unauthorized");
  } finally {
    await api.close();
  }
});

Deno.test("widget on Postgres: a signed visitor opens a conversation on the session actor", async () => {
  const api = await startApiServer();
  try {
    const admin = await api.token({ sub: "root", role: "admin" });
    const widget = { key: widgetKey, identitySecret, requireIdentity: true };
    assertEquals(
      (await fetchJson(`${api.url}/v1/admin/settings`, admin, "POST", { widget })).status,
      200,
    );
    const opened = await fetchJson(`${api.url}${path}`, null, "POST", {
      widgetKey,
      visitorId: "visitor-42",
      name: "Carol",
      identityHash: await identityHash("visitor-42"),
    });
    assertEquals(opened.status, 201, JSON.stringify(opened.body));
    const { token, conversationId, visitorId } = opened.body as Record<string, string>;
    assertEquals(visitorId, "visitor-42");
    assertEquals(
      await verifyToken(JWT_SECRET, token).then(({ sub, tenant, role }) => ({ sub, tenant, role })),
      { sub: "visitor-42", tenant: "acme", role: "visitor" },
    );
    const address = { kind: "session", tenant: "acme", id: conversationId };
    const events = await api.runtime.store.events(actorKey(address), 0, 10);
    assertEquals(events[0].type, "opened");
    assertEquals(events[0].commandId, `s:open:${conversationId}`);
    assertEquals((events[0].data.visitor as Record<string, unknown>).verified, true);
  } finally {
    await api.close();
  }
});

Deno.test("widget on Postgres: a visitor's fresh token goes on with its own open chat; anyone else's gets a new one", async () => {
  const api = await startApiServer();
  try {
    const admin = await api.token({ sub: "root", role: "admin" });
    const widget = { key: widgetKey, identitySecret };
    assertEquals(
      (await fetchJson(`${api.url}/v1/admin/settings`, admin, "POST", { widget })).status,
      200,
    );
    // With an agent online the chat stays open, waiting for them.
    const agent = await WsClient.hello(api.url, await api.token({ sub: "alice" }));
    const bootstrap = async (body: Record<string, unknown>) => {
      const answer = await fetchJson(`${api.url}${path}`, null, "POST", { widgetKey, ...body });
      assertEquals(answer.status, 201, JSON.stringify(answer.body));
      return answer.body as Record<string, string>;
    };
    const first = await bootstrap({});
    const again = await bootstrap({
      visitorId: first.visitorId,
      conversationId: first.conversationId,
    });
    assertEquals(again.conversationId, first.conversationId, "the chat goes on");
    assertEquals(again.visitorId, first.visitorId);
    assertNotEquals(again.token, undefined);
    const opened = await api.runtime.store.list({
      tenant: "acme",
      kind: "session",
      limit: 10,
    });
    assertEquals(opened.items.length, 1, "no stray conversation was opened");
    // Another visitor naming that chat gets a chat of its own.
    const other = await bootstrap({ conversationId: first.conversationId });
    assertNotEquals(other.conversationId, first.conversationId);
    // So does the visitor itself once its chat is gone.
    const unknown = await bootstrap({ visitorId: first.visitorId, conversationId: "no-such-chat" });
    assertNotEquals(unknown.conversationId, "no-such-chat");
    await agent.close();
  } finally {
    await api.close();
  }
});
