// Text Postgres cannot store (U+0000, unpaired surrogates) is refused by every
// validator — HTTP, WebSocket, deciders — naming the field, so it never
// reaches a commit batch.
import { assert, assertEquals, assertObjectMatch } from "@std/assert";
import { isStorableText, unstorablePath } from "../actors/storable_text.ts";
import { ticketDecider } from "../actors/ticket.ts";
import { defaultTenantSettings } from "../actors/decider.ts";
import { decodeFrame } from "../edge/ws/frames.ts";
import { encode } from "@msgpack/msgpack";
import { expectError, harness } from "./_support/scripted_backend.ts";

const nul = "a\u0000b";
const lone = "a\ud800b";

Deno.test("storable text: U+0000 and unpaired surrogates are refused, pairs and emoji pass", () => {
  assert(isStorableText("plain 😀 \ud83d\ude00"));
  assert(!isStorableText(nul));
  assert(!isStorableText(lone));
  assert(!isStorableText("\udc00"));
});

Deno.test("storable text: unstorablePath finds values and keys at any depth", () => {
  assertEquals(unstorablePath({ a: 1, b: ["ok", { c: null }] }), null);
  assertEquals(unstorablePath(lone), "");
  assertEquals(unstorablePath({ tags: ["ok", nul] }), "tags.1");
  assertEquals(unstorablePath({ settings: { [nul]: true } }), `settings.${nul}`);
  const deep = JSON.parse(`{"a":${"[".repeat(30_000)}"\\u0000"${"]".repeat(30_000)}}`);
  assertEquals(unstorablePath(deep), `a${".0".repeat(30_000)}`, "deeper than the call stack");
});

Deno.test("storable text: the ticket decider refuses it in any text field or tag", () => {
  const state = ticketDecider.initial({ kind: "ticket", tenant: "acme", id: "t-1" });
  const ctx = {
    now: 0,
    actor: { kind: "ticket", tenant: "acme", id: "t-1" },
    commandId: "c",
    tenant: defaultTenantSettings,
  };
  const by = { sub: "alice", role: "agent" };
  for (
    const [field, command] of [
      ["subject", { subject: nul, body: "b" }],
      ["body", { subject: "s", body: lone }],
      ["tags", { subject: "s", body: "b", tags: ["ok", lone] }],
    ] as const
  ) {
    const decision = ticketDecider.decide(state, { type: "create", by, ...command } as never, ctx);
    assert("reject" in decision, `${field} accepted`);
    assertObjectMatch(decision.reject, { code: "validation", field });
  }
});

Deno.test("storable text: HTTP answers 400 validation naming the field, nothing is sent", async () => {
  const { call, backend } = harness();
  await expectError(
    await call("POST", "/v1/tickets", { body: { subject: "s", body: nul } }),
    400,
    { code: "validation", field: "body" },
  );
  await expectError(
    await call("POST", "/v1/tickets", { body: { subject: "s", body: "b", tags: ["x", lone] } }),
    400,
    { code: "validation", field: "tags.1" },
  );
  await expectError(
    await call("POST", "/v1/admin/settings", {
      token: { role: "admin" },
      body: { widget: { key: "k".repeat(16), [nul]: 1 } },
    }),
    400,
    { code: "validation", field: `widget.${nul}` },
  );
  assertEquals(backend.requests.length, 0);
});

Deno.test("storable text: a WebSocket frame gets err validation naming the field", () => {
  const send = { t: "send", id: "r1", conversation: "c1", body: nul };
  for (const data of [JSON.stringify(send), encode(send)]) {
    const decoded = decodeFrame(data);
    assert(!decoded.ok && decoded.close === undefined, "refused without closing");
    assertEquals(decoded.error, {
      id: "r1",
      code: "validation",
      message: "body: must not contain U+0000 or unpaired UTF-16 surrogates",
      field: "body",
    });
  }
  const lonely = decodeFrame(
    JSON.stringify({ t: "send", id: "r2", conversation: "c1", body: lone }),
  );
  assert(!lonely.ok && lonely.close === undefined);
  assertObjectMatch(lonely.error, { id: "r2", code: "validation", field: "body" });
});
