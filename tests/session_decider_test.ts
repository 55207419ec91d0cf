import { assert, assertEquals, assertMatch, assertObjectMatch, fail } from "@std/assert";
import fc from "fast-check";
import {
  type ActorAddress,
  type Caller,
  defaultTenantSettings,
  systemSub,
  type TenantSettings,
  type TimerCommand,
} from "../actors/decider.ts";
import {
  chatTicketId,
  type MessageEvent,
  type SessionCommand,
  sessionDecider as session,
  type SessionEvent,
  sessionLimits,
  type SessionState,
  type SessionStatus,
} from "../actors/session.ts";
import { type TicketCommand, ticketDecider, type TicketEvent } from "../actors/ticket.ts";
import { charCount } from "../actors/_validation.ts";
import { isStorableText } from "../actors/storable_text.ts";
import { deciderHarness, MIN, T0, timer } from "./_support/decider_harness.ts";
import { explanationBy, routeCommand } from "./_support/route_command.ts";
import type { DeciderRun, DeciderStep } from "./_support/decider_harness.ts";
import { ada, alice, bob, sam, sue, vera } from "./_support/decider_harness.ts";

const address: ActorAddress = { kind: "session", tenant: "acme", id: "s-1" };

/** Chat clocks unlike the defaults, so a test shows which it used. */
const tenant: TenantSettings = {
  ...defaultTenantSettings,
  chat: { waitLimitMinutes: 10, idleCloseMinutes: 20 },
};

type Command = SessionCommand | TimerCommand;
type CommandOf<T extends SessionCommand["type"]> = Extract<SessionCommand, { type: T }>;
type Step = DeciderStep<SessionCommand>;
type Run = DeciderRun<SessionState, SessionEvent>;

const { fold, given, when, rejection, events, replay, assertLimit } = deciderHarness(session, {
  address,
  tenant,
});

function messagesOf(list: SessionEvent[]): MessageEvent[] {
  return list.filter((event): event is MessageEvent => event.type === "message");
}

const open = (over: Partial<CommandOf<"open">> = {}): CommandOf<"open"> => ({
  type: "open",
  by: vera,
  visitor: { id: "vera", name: "Vera", email: "vera@example.com", verified: true },
  agentsOnline: 3,
  ...over,
});
let clientIds = 0;
const send = (by: Caller, body = "hello", kind?: "text" | "note"): CommandOf<"send"> => ({
  type: "send",
  by,
  body,
  clientMessageId: `m-${++clientIds}`,
  ...(kind === undefined ? {} : { kind }),
});
const claim = (by: Caller): CommandOf<"claim"> => ({ type: "claim", by });
const transfer = (by: Caller, to: string, reason?: string): CommandOf<"transfer"> => ({
  type: "transfer",
  by,
  to,
  ...(reason === undefined ? {} : { reason }),
});
const close = (by: Caller): CommandOf<"close"> => ({ type: "close", by });
const rate = (by: Caller, score: number, comment?: string): CommandOf<"rate"> => ({
  type: "rate",
  by,
  score,
  ...(comment === undefined ? {} : { comment }),
});

/** Commands reaching each status; alice is the agent wherever there is one. */
const reach: Record<SessionStatus, Command[]> = {
  queued: [open()],
  assigned: [open(), claim(alice)],
  closed: [open(), claim(alice), close(alice)],
};

/** The status a command leads to, or `!code` for the rejection it gets. */
type Outcome = SessionStatus | `!${string}`;
const openOnly = (
  queued: Outcome,
  assigned: Outcome,
): Record<SessionStatus, Outcome> => ({ queued, assigned, closed: "!conversation_closed" });

const transitions: [string, Command, Record<SessionStatus, Outcome>][] = [
  ["visitor text", send(vera), openOnly("queued", "assigned")],
  ["assigned agent's note", send(alice, "vip", "note"), openOnly("!forbidden", "assigned")],
  ["supervisor text", send(sue), openOnly("queued", "assigned")],
  ["claim", claim(bob), openOnly("assigned", "!already_claimed")],
  ["transfer by the agent", transfer(alice, "bob"), openOnly("!forbidden", "assigned")],
  ["transfer by a supervisor", transfer(sue, "bob"), openOnly("assigned", "assigned")],
  ["close by the visitor", close(vera), openOnly("closed", "closed")],
  ["close by the agent", close(alice), openOnly("!forbidden", "closed")],
  ["close by an admin", close(ada), openOnly("closed", "closed")],
  [
    "rate",
    rate(vera, 5),
    { queued: "!invalid_transition", assigned: "!invalid_transition", closed: "closed" },
  ],
  [
    "second open",
    open(),
    { queued: "!already_exists", assigned: "!already_exists", closed: "!already_exists" },
  ],
];

Deno.test("session: every transition from every status", async (t) => {
  for (const [label, command, outcomes] of transitions) {
    for (const status of ["queued", "assigned", "closed"] as const) {
      const expected = outcomes[status];
      await t.step(`${label} when ${status} → ${expected}`, () => {
        const { decision, run } = when(given(reach[status]), command);
        if (expected.startsWith("!")) {
          assertEquals(rejection(decision).code, expected.slice(1));
        } else {
          events(decision);
          assertEquals(run.state.status, expected);
        }
      });
    }
  }
});

Deno.test("session: every command but open on a conversation never opened is not_found", () => {
  for (
    const command of [send(vera), claim(alice), transfer(sue, "bob"), close(vera), rate(vera, 5)]
  ) {
    assertEquals(rejection(fold([command]).decisions[0]).code, "not_found", command.type);
  }
  assertEquals(events(fold([timer("wait_limit", T0)]).decisions[0]), []);
});

Deno.test("session: open queues the conversation and says it started", () => {
  const run = given([{ command: open({ subject: " Billing " }), id: "open-1" }]);
  assertEquals(run.events, [
    {
      type: "opened",
      by: "vera",
      at: T0,
      commandId: "open-1",
      visitor: { id: "vera", name: "Vera", email: "vera@example.com", verified: true },
      subject: "Billing",
      limits: { waitLimitMinutes: 10, idleCloseMinutes: 20 },
      queued: true,
    },
    {
      type: "message",
      seq: 1,
      publicSeq: 1,
      kind: "system",
      author: { sub: systemSub, role: "system" },
      body: "Conversation started",
      clientMessageId: null,
      at: T0,
      internal: false,
    },
  ]);
  assertObjectMatch(run.state, {
    status: "queued",
    agent: null,
    seq: 1,
    publicSeq: 1,
    createdAt: T0,
    lastMessageAt: T0,
  });
  assertEquals(session.timers!(run.state), [{ name: "wait_limit", at: T0 + 10 * MIN }]);
});

Deno.test("session: optional visitor fields default to null", () => {
  const anonymous = { sub: "anon:vera", role: "visitor" } as const;
  const run = given([open({ by: anonymous, visitor: { id: "anon:vera", verified: false } })]);
  assertEquals(run.state.visitor, { id: "anon:vera", name: null, email: null, verified: false });
  assertEquals(run.state.subject, null);
});

Deno.test("session: a retried open is accepted without events, another open is already_exists", () => {
  const run = given([{ command: open(), id: "open-1" }]);
  assertEquals(events(when(run, { command: open(), id: "open-1" }).decision), []);
  assertEquals(rejection(when(run, open()).decision).code, "already_exists");
});

Deno.test("session: a visitor's text is a self-contained public message", () => {
  const run = given([open()]);
  const { decision } = when(run, {
    command: { ...send(vera, "Hi!"), clientMessageId: "c-9" },
    at: T0 + MIN,
  });
  assertEquals(events(decision), [{
    type: "message",
    seq: 2,
    publicSeq: 2,
    kind: "text",
    author: { sub: "vera", role: "visitor" },
    body: "Hi!",
    clientMessageId: "c-9",
    at: T0 + MIN,
    internal: false,
  }]);
});

Deno.test("session: a note is internal and repeats the public number", () => {
  const run = given([
    open(),
    claim(alice),
    send(vera),
    send(alice, "regular", "note"),
    send(alice),
  ]);
  const [started, joined, text, note, reply] = messagesOf(run.events);
  assertEquals(
    [started, joined, text, note, reply].map((m) => [m.seq, m.publicSeq, m.kind, m.internal]),
    [
      [1, 1, "system", false],
      [2, 2, "system", false],
      [3, 3, "text", false],
      [4, 3, "note", true],
      [5, 4, "text", false],
    ],
  );
  assertEquals([run.state.seq, run.state.publicSeq], [5, 4]);
});

Deno.test("session: supervisors and admins write without being assigned", () => {
  const run = given([open(), send(sue, "looking", "note"), claim(alice), send(ada)]);
  assertEquals(run.state.agent, "alice");
  assertEquals(messagesOf(run.events).map((m) => m.author.sub), ["system", "sue", "system", "ada"]);
});

Deno.test("session: in a claim storm of 100 agents exactly one wins", () => {
  const agents = Array.from(
    { length: 100 },
    (_, i): Caller => ({ sub: `agent-${i}`, role: "agent" }),
  );
  const run = fold([open(), ...agents.map(claim)]);
  const accepted = run.decisions.slice(1).filter((decision) => "events" in decision);
  assertEquals(accepted.length, 1);
  assertEquals(run.state.agent, "agent-0");
  for (const decision of run.decisions.slice(2)) {
    const refused = rejection(decision);
    assertEquals(refused.code, "already_claimed");
    assertEquals(refused.details, { owner: "agent-0" });
  }
  assertEquals(run.events.filter((event) => event.type === "assigned").length, 1);
});

Deno.test("session: claim assigns and announces the agent; claiming one's own is a no-op", () => {
  const run = given([open()]);
  const { decision, run: claimed } = when(run, { command: claim(alice), at: T0 + MIN });
  const [assigned, joined] = events(decision);
  assertEquals(assigned, {
    type: "assigned",
    by: "alice",
    at: T0 + MIN,
    agent: "alice",
    previous: null,
    via: "claim",
    reason: null,
  });
  assertObjectMatch(joined, { type: "message", kind: "system", body: "alice joined", seq: 2 });
  assertEquals(events(when(claimed, claim(alice)).decision), []);
  assertEquals(session.timers!(claimed.state), [{ name: "idle_close", at: T0 + 21 * MIN }]);
});

Deno.test("session: transfer moves the agent and keeps the reason from the visitor", () => {
  const run = given([open(), claim(alice)]);
  const [assigned, message] = events(
    when(run, transfer(alice, "bob", "billing question")).decision,
  );
  assertObjectMatch(assigned, {
    type: "assigned",
    agent: "bob",
    previous: "alice",
    via: "transfer",
    reason: "billing question",
  });
  assertObjectMatch(message, { kind: "system", body: "Transferred from alice to bob" });
  assert(!("body" in message && message.body.includes("billing")));
  const bobs = given([transfer(alice, "bob")], run);
  assertEquals(bobs.state.agent, "bob");
  assertEquals(rejection(when(bobs, send(alice)).decision).code, "forbidden");
  events(when(bobs, send(bob)).decision);
  assertEquals(events(when(bobs, transfer(bob, "bob")).decision), []);
});

Deno.test("session: a supervisor hands a queued conversation to an agent", () => {
  const run = given([open(), transfer(sue, "bob")]);
  assertEquals([run.state.status, run.state.agent], ["assigned", "bob"]);
  assertEquals(messagesOf(run.events).at(-1)!.body, "bob joined");
});

Deno.test("session: close records who closed and tells everyone", () => {
  const byVisitor = given([open(), claim(alice), { command: close(vera), at: T0 + 3 * MIN }]);
  assertObjectMatch(byVisitor.state, {
    status: "closed",
    closedAt: T0 + 3 * MIN,
    closedBy: "vera",
  });
  assertEquals(messagesOf(byVisitor.events).at(-1)!.body, "Vera closed the conversation");
  const byAgent = given([open(), claim(alice), close(alice)]);
  assertObjectMatch(byAgent.state, { closedBy: "alice", closeReason: "agent" });
  assertEquals(messagesOf(byAgent.events).at(-1)!.body, "alice closed the conversation");
  assertEquals(session.timers!(byAgent.state), []);
});

Deno.test("session: nothing is sent after close", () => {
  const run = given(reach.closed);
  for (const command of [send(vera), send(alice), send(sue, "late", "note")]) {
    assertEquals(rejection(when(run, command).decision).code, "conversation_closed");
  }
});

Deno.test("session: rating: the visitor, after close, once", () => {
  const run = given(reach.closed);
  const { decision, run: rated } = when(run, {
    command: rate(vera, 4, " Quick "),
    at: T0 + 9 * MIN,
  });
  assertEquals(events(decision), [{
    type: "rated",
    by: "vera",
    at: T0 + 9 * MIN,
    score: 4,
    comment: "Quick",
  }]);
  assertEquals(rated.state.rating, { score: 4, comment: "Quick" });
  const again = rejection(when(rated, rate(vera, 5)).decision);
  assertEquals([again.code, again.details], ["already_rated", { score: 4 }]);
  assertEquals(rejection(when(run, rate(alice, 5)).decision).code, "forbidden");
  assertEquals(rejection(when(run, rate(sam, 5)).decision).code, "forbidden");
  const early = rejection(when(given(reach.assigned), rate(vera, 5)).decision);
  assertEquals([early.code, early.details], ["invalid_transition", {
    from: "assigned",
    command: "rate",
  }]);
});

Deno.test("session: an unknown command type is refused", () => {
  const command = { type: "teleport", by: alice } as unknown as Command;
  const refused = rejection(when(given([open()]), command).decision);
  assertEquals([refused.code, refused.field], ["invalid_command", "type"]);
});

const roleCases: [string, SessionStatus | "none", Command, string?][] = [
  ["an agent opens", "none", open({ by: alice })],
  ["a visitor opens for someone else", "none", open({ by: sam })],
  ["a visitor writes a note", "queued", send(vera, "psst", "note")],
  ["a visitor writes in someone else's conversation", "queued", send(sam)],
  ["an agent writes before claiming", "queued", send(alice), "claim the conversation"],
  ["an agent writes in a colleague's conversation", "assigned", send(bob), "alice"],
  ["a visitor claims", "queued", claim(vera)],
  ["a visitor transfers", "assigned", transfer(vera, "bob")],
  ["an agent transfers a colleague's conversation", "assigned", transfer(bob, "bob")],
  ["an agent transfers a queued conversation", "queued", transfer(bob, "bob")],
  ["a visitor closes someone else's conversation", "assigned", close(sam)],
  ["an agent closes a colleague's conversation", "assigned", close(bob)],
  ["an agent rates", "closed", rate(alice, 5)],
  ["another visitor rates", "closed", rate(sam, 5)],
];

Deno.test("session: role checks refuse with forbidden", async (t) => {
  for (const [label, status, command, mentions] of roleCases) {
    await t.step(label, () => {
      const run = status === "none" ? fold([]) : given(reach[status]);
      const refused = rejection(when(run, command).decision);
      assertEquals(refused.code, "forbidden");
      if (mentions) assert(refused.message.includes(mentions), refused.message);
    });
  }
});

const long = (n: number) => "x".repeat(n);

/** Label, starting status, command, and the refused field or `ok`. */
const limitCases: [string, SessionStatus | "none", Command, string][] = [
  [
    "visitor missing",
    "none",
    open({ visitor: null as unknown as CommandOf<"open">["visitor"] }),
    "visitor",
  ],
  ["visitor id empty", "none", open({ visitor: { id: " ", verified: true } }), "visitor.id"],
  [
    "visitor id 200 chars",
    "none",
    open({ by: { sub: long(200), role: "visitor" }, visitor: { id: long(200), verified: true } }),
    "ok",
  ],
  [
    "visitor id 201 chars",
    "none",
    open({ visitor: { id: long(201), verified: true } }),
    "visitor.id",
  ],
  [
    "visitor name blank",
    "none",
    open({ visitor: { id: "vera", name: "", verified: true } }),
    "visitor.name",
  ],
  [
    "visitor name 201 chars",
    "none",
    open({ visitor: { id: "vera", name: long(201), verified: true } }),
    "visitor.name",
  ],
  [
    "visitor email no @",
    "none",
    open({ visitor: { id: "vera", email: "vera", verified: true } }),
    "visitor.email",
  ],
  [
    "visitor email with space",
    "none",
    open({ visitor: { id: "vera", email: "v @x", verified: true } }),
    "visitor.email",
  ],
  [
    "visitor email 321 chars",
    "none",
    open({ visitor: { id: "vera", email: `${long(310)}@example.com`, verified: true } }),
    "visitor.email",
  ],
  [
    "visitor verified missing",
    "none",
    open({ visitor: { id: "vera" } as CommandOf<"open">["visitor"] }),
    "visitor.verified",
  ],
  ["agentsOnline negative", "none", open({ agentsOnline: -1 }), "agentsOnline"],
  ["agentsOnline fractional", "none", open({ agentsOnline: 1.5 }), "agentsOnline"],
  [
    "agentsOnline a string",
    "none",
    open({ agentsOnline: "2" as unknown as number }),
    "agentsOnline",
  ],
  ["subject blank", "none", open({ subject: "  " }), "subject"],
  ["subject 200 chars", "none", open({ subject: long(200) }), "ok"],
  ["subject 201 chars", "none", open({ subject: long(201) }), "subject"],
  ["body empty", "queued", send(vera, ""), "body"],
  ["body blank", "queued", send(vera, " \n "), "body"],
  ["body 20000 chars", "queued", send(vera, long(20_000)), "ok"],
  ["body 20000 emoji", "queued", send(vera, "💬".repeat(20_000)), "ok"],
  ["body 20001 chars", "queued", send(vera, long(20_001)), "body"],
  ["kind system", "queued", { ...send(sue), kind: "system" as "text" }, "kind"],
  ["clientMessageId missing", "queued", {
    ...send(vera),
    clientMessageId: undefined as unknown as string,
  }, "clientMessageId"],
  [
    "clientMessageId 201 chars",
    "queued",
    { ...send(vera), clientMessageId: long(201) },
    "clientMessageId",
  ],
  ["transfer to nobody", "assigned", transfer(alice, " "), "to"],
  ["transfer to 201 chars", "assigned", transfer(alice, long(201)), "to"],
  ["transfer reason 500 chars", "assigned", transfer(alice, "bob", long(500)), "ok"],
  ["transfer reason 501 chars", "assigned", transfer(alice, "bob", long(501)), "reason"],
  ["score 0", "closed", rate(vera, 0), "score"],
  ["score 6", "closed", rate(vera, 6), "score"],
  ["score 4.5", "closed", rate(vera, 4.5), "score"],
  ["score a string", "closed", rate(vera, "5" as unknown as number), "score"],
  ["score 1", "closed", rate(vera, 1), "ok"],
  ["comment 2000 chars", "closed", rate(vera, 5, long(2_000)), "ok"],
  ["comment 2001 chars", "closed", rate(vera, 5, long(2_001)), "comment"],
  ["comment blank", "closed", rate(vera, 5, " "), "comment"],
];

Deno.test("session: business limits refuse with validation naming the field", async (t) => {
  for (const [label, status, command, field] of limitCases) {
    await t.step(`${label}: ${field}`, () => {
      assertLimit(status === "none" ? fold([]) : given(reach[status]), command, field);
    });
  }
});

/** The ticket the effect of a `converted` event creates, decided by the ticket decider. */
function ticketFrom(history: SessionEvent[], at: ActorAddress = address) {
  const index = history.findIndex((event) => event.type === "converted");
  assert(index >= 0, "no converted event");
  // The runtime asks for effects with the state the event leads to.
  const state = history.slice(0, index + 1).reduce(session.evolve, session.initial(at));
  const effects = session.effects!(state, history[index], at);
  assertEquals(effects.length, 1);
  const [effect] = effects;
  const decision = ticketDecider.decide(
    ticketDecider.initial(effect.address),
    effect.command as TicketCommand,
    { now: history[index].at + 1, actor: effect.address, commandId: effect.commandId, tenant },
  );
  if (!("events" in decision)) fail(`ticket refused: ${JSON.stringify(decision.reject)}`);
  const created = decision.events[0] as Extract<TicketEvent, { type: "created" }>;
  return { effect, created };
}

Deno.test("session: opened with no agent online, it becomes a ticket at once", () => {
  const run = given([open({ agentsOnline: 0, subject: "Refund" })]);
  assertEquals(run.events.map((event) => event.type), [
    "opened",
    "message",
    "converted",
    "closed",
    "message",
  ]);
  assertObjectMatch(run.events[2], {
    type: "converted",
    by: systemSub,
    ticketId: "chat-s-1",
    reason: "no_agent_online",
  });
  const notice = messagesOf(run.events).at(-1)!;
  assertObjectMatch(notice, { seq: 2, publicSeq: 2, kind: "system", internal: false });
  assert(notice.body.includes("ticket chat-s-1"), notice.body);
  assert(notice.body.includes("vera@example.com"), notice.body);
  assertObjectMatch(run.state, {
    status: "closed",
    closedBy: systemSub,
    closeReason: "converted",
    ticketId: "chat-s-1",
  });
  assertEquals(session.timers!(run.state), []);

  const { effect, created } = ticketFrom(run.events);
  assertEquals(effect.address, { kind: "ticket", tenant: "acme", id: "chat-s-1" });
  assertEquals(effect.commandId, "s:convert:s-1");
  assertObjectMatch(effect.command, {
    type: "create",
    by: { sub: systemSub, role: "agent" },
    subject: "Refund",
    requester: "vera",
    tags: ["chat"],
  });
  assertObjectMatch(created, {
    subject: "Refund",
    requester: "vera",
    tags: ["chat"],
    by: "system",
  });
  assert(created.body.includes("No messages were sent."), created.body);
  assert(created.body.includes("Vera <vera@example.com> (visitor vera, verified)"), created.body);
});

Deno.test("session: still queued at the wait limit, it becomes a ticket with the transcript", () => {
  const run = given([
    open({
      visitor: { id: "anon:v-7", verified: false },
      by: { sub: "anon:v-7", role: "visitor" },
    }),
    { command: send({ sub: "anon:v-7", role: "visitor" }, "My order never came"), at: T0 + MIN },
    { command: send(sue, "known courier issue", "note"), at: T0 + 2 * MIN },
    { command: send(sue, "Checking, one moment"), at: T0 + 3 * MIN },
  ]);
  const [wanted] = session.timers!(run.state);
  assertEquals(wanted, { name: "wait_limit", at: T0 + 10 * MIN });
  const converted = given([{ command: timer(wanted.name, wanted.at), at: wanted.at }], run);
  assertObjectMatch(converted.events[0], { type: "converted", reason: "wait_limit" });
  assertObjectMatch(converted.state, { status: "closed", closeReason: "converted" });
  const notice = messagesOf(converted.events)[0];
  assertObjectMatch(notice, { seq: 5, publicSeq: 4 });
  assert(notice.body.includes("an agent will reply there"), notice.body);

  const { effect, created } = ticketFrom([...run.events, ...converted.events]);
  assertObjectMatch(effect.command, { subject: "Chat with anon:v-7", requester: "anon:v-7" });
  assertEquals(
    created.body,
    [
      "Chat s-1 started 2025-01-06 09:00:00 UTC by (visitor anon:v-7, unverified).",
      "",
      "[2025-01-06 09:01:00 UTC] anon:v-7: My order never came",
      "[2025-01-06 09:03:00 UTC] sue: Checking, one moment",
    ].join("\n"),
  );
  assert(!created.body.includes("courier"), "notes stay out of the transcript");
});

Deno.test("session: a visitor's identity kind must match its conversation's, both at open and after", () => {
  const typed = { sub: "cust-42", role: "visitor" } as const;
  // The edge never opens an unverified conversation outside the anonymous namespace, nor the reverse.
  for (const visitor of [{ id: "cust-42", verified: false }, { id: "anon:x", verified: true }]) {
    const by = { sub: visitor.id, role: "visitor" } as const;
    assertEquals(rejection(fold([open({ by, visitor })]).decisions[0]), {
      code: "validation",
      message: "a visitor is verified exactly when its id is not anon:",
      field: "visitor.verified",
    });
  }
  // One opened that way before anonymous ids existed is nobody's: not the verified customer's.
  const legacy = session.evolve(
    session.initial(address),
    {
      ...given([open()]).events[0],
      visitor: { id: "cust-42", name: null, email: null, verified: false },
    } as Parameters<typeof session.evolve>[1],
  );
  for (const command of [send(typed, "is this mine?"), { type: "close" as const, by: typed }]) {
    const decision = session.decide(legacy, command, {
      now: T0,
      actor: address,
      commandId: "x",
      tenant,
    });
    assertEquals(rejection(decision).code, "forbidden");
  }
});

// Each event's effects, asked with the state the event leads to, as the runtime does.
function effectsOf(history: SessionEvent[], at: ActorAddress = address) {
  let state = session.initial(at);
  return history.flatMap((event) => {
    state = session.evolve(state, event);
    return session.effects!(state, event, at).map((effect) => ({ event: event.type, ...effect }));
  });
}

const queueAddress = { kind: "queue", tenant: "acme", id: "main" };
const chat = { kind: "chat", id: "s-1" };

Deno.test("session: the queue hears of the open, a claim by hand, a transfer and the close", () => {
  const run = given([open(), claim(alice), transfer(alice, "bob"), close(vera), rate(vera, 3)]);
  const sent = effectsOf(run.events);
  assertEquals(sent.map(({ event, address, command }) => ({ event, address, command })), [
    {
      event: "opened",
      address: queueAddress,
      command: { type: "arrive", item: { ...chat, visitor: "vera" } },
    },
    {
      event: "assigned",
      address: queueAddress,
      command: { type: "leave", item: chat, reason: "claimed", agent: "alice" },
    },
    {
      event: "assigned",
      address: queueAddress,
      command: { type: "leave", item: chat, reason: "transferred", agent: "bob" },
    },
    {
      event: "closed",
      address: queueAddress,
      command: { type: "leave", item: chat, reason: "closed" },
    },
  ]);
  // Redelivery must be harmless, and distinct commands must not share an id.
  assertEquals(new Set(sent.map((effect) => effect.commandId)).size, sent.length);
  assertEquals(effectsOf(run.events).map((e) => e.commandId), sent.map((e) => e.commandId));
});

Deno.test("session: an open's topic, language and skills are kept and go to the queue with the chat", () => {
  const run = given([
    open({
      topic: "billing",
      language: "de",
      skills: { required: ["billing", "billing"], optional: ["vip"] },
    }),
  ]);
  const routing = {
    topic: "billing",
    language: "de",
    skills: { required: ["billing"], optional: ["vip"] },
  };
  assertObjectMatch(run.events[0], { type: "opened", routing });
  assertObjectMatch(session.view!(run.state)!, { topic: "billing", language: "de" });
  const [arrival] = effectsOf(run.events);
  assertEquals(arrival.command, {
    type: "arrive",
    item: {
      ...chat,
      skills: { required: ["billing"], optional: ["vip"] },
      language: "de",
      visitor: "vera",
    },
  });
  assertEquals(replay(run.events), run.state);
  // What the queue would refuse is refused at the open, so the arrival always lands.
  for (
    const [over, field] of [
      [{ topic: "" }, "topic"],
      [{ language: "x".repeat(81) }, "language"],
      [{ skills: ["billing"] }, "skills"],
      [{ skills: "billing" }, "skills"],
      [{ skills: { required: Array.from({ length: 51 }, (_, i) => `s${i}`) } }, "skills.required"],
      [{ skills: { optional: [""] } }, "skills.optional"],
    ] as const
  ) {
    const refused = rejection(when(given([]), open(over as Partial<CommandOf<"open">>)).decision);
    assertEquals([refused.code, refused.field], ["validation", field], JSON.stringify(over));
  }
});

Deno.test("session: a chat that becomes a ticket at once never waits in the queue", () => {
  const run = given([open({ agentsOnline: 0 })]);
  const sent = effectsOf(run.events);
  assertEquals(sent.map((effect) => [effect.event, effect.address.kind, effect.command.type]), [
    ["converted", "ticket", "create"],
    ["closed", "queue", "leave"],
  ]);
  assertEquals(sent[1].command, { type: "leave", item: chat, reason: "converted" });
});

const explanation = explanationBy("least-loaded");
const route = (agent: string, replaces: string | null = null) =>
  routeCommand(agent, explanation, replaces);

Deno.test("session: the queue's assignment is taken like a claim, with its explanation", () => {
  const run = given([open(), route("alice")]);
  assertObjectMatch(run.events[2], {
    type: "assigned",
    by: systemSub,
    agent: "alice",
    via: "route",
    explanation,
  });
  assertEquals(messagesOf(run.events).at(-1)?.body, "alice joined");
  assertEquals(run.state.agent, "alice");
  // The queue made this assignment: it is not told of it again.
  assertEquals(effectsOf(run.events).map((effect) => effect.event), ["opened"]);
});

Deno.test("session: a claim by hand that came first wins over the queue's assignment", () => {
  const claimed = given([open(), claim(bob)]);
  assertEquals(when(claimed, route("alice")).run.events, []);
  assertEquals(when(claimed, route("alice")).run.state.agent, "bob");
});

Deno.test("session: an assignment that reaches a closed conversation is handed back to the queue", () => {
  // Its arrival came late (a failover), so the queue routed what had closed.
  const closed = given([open(), close(vera)]);
  const { run } = when(closed, route("alice"));
  assertObjectMatch(run.events[0], { type: "route_declined", by: systemSub, agent: "alice" });
  assertEquals(run.state.status, "closed");
  assertEquals(effectsOf(run.events).map((effect) => effect.command), [
    { type: "leave", item: chat, reason: "closed" },
  ]);
});

Deno.test("session: an assignment the queue took back goes to the next agent", () => {
  const claimed = given([open(), claim(bob)]);
  const { run } = when(claimed, route("alice", "bob"));
  assertObjectMatch(run.events[0], { type: "assigned", agent: "alice", previous: "bob" });
});

Deno.test("session: only the queue routes", () => {
  const { decision } = when(given([open()]), { ...route("alice"), by: alice });
  assertEquals(rejection(decision).code, "forbidden");
});

Deno.test("session: a long visitor name is cut to a ticket subject", () => {
  const run = given([
    open({ agentsOnline: 0, visitor: { id: "vera", name: "N".repeat(200), verified: true } }),
  ]);
  const { effect } = ticketFrom(run.events);
  const subject = effect.command.subject as string;
  assertEquals(charCount(subject), 200);
  assert(subject.startsWith("Chat with NNN") && subject.endsWith("…"));
});

Deno.test("session: the transcript keeps the last 200 messages and says it was cut", () => {
  const texts = Array.from({ length: 250 }, (_, i) => send(vera, `m${i + 1}`));
  const run = given([open(), ...texts]);
  assertEquals(run.state.transcript.length, sessionLimits.transcriptMessages);
  assert(run.state.transcriptTrimmed);
  const converted = given([timer("wait_limit", T0 + 10 * MIN)], run);
  const { created } = ticketFrom([...run.events, ...converted.events]);
  const lines = created.body.split("\n");
  assertEquals(lines[2], "(earlier messages omitted)");
  assert(lines[3].endsWith("Vera: m51"), lines[3]);
  assert(lines.at(-1)!.endsWith("Vera: m250"), lines.at(-1));
});

Deno.test("session: the transcript stays under the ticket body limit at the extremes", () => {
  const longId = `s${"1".repeat(127)}`;
  const at: ActorAddress = { ...address, id: longId };
  const visitorId = "v".repeat(200);
  const visitor: Caller = { sub: visitorId, role: "visitor" };
  const run = given(
    [
      open({
        by: visitor,
        visitor: {
          id: visitorId,
          name: "🙂".repeat(200),
          email: `${"e".repeat(300)}@example.com`,
          verified: true,
        },
        subject: "S".repeat(200),
      }),
      ...Array.from({ length: 3 }, () => send(visitor, "💬".repeat(20_000))),
      ...Array.from({ length: 150 }, () => send(visitor, "w".repeat(150))),
    ],
    undefined,
    at,
  );
  assert(charCount(run.state.transcript.join("\n")) <= sessionLimits.transcriptChars);
  const converted = given([timer("wait_limit", T0 + 10 * MIN)], run);
  const { created, effect } = ticketFrom([...run.events, ...converted.events], at);
  assert(charCount(created.body) <= 20_000, `${charCount(created.body)} chars`);
  assertEquals(effect.address.id, chatTicketId(longId));

  const one = given([open(), send(vera, "💬".repeat(20_000))]);
  const [line] = one.state.transcript;
  assertEquals(charCount(line), sessionLimits.transcriptChars);
  assert(line.endsWith("💬…"));
  assert(!one.state.transcriptTrimmed);
});

Deno.test("session: the transcript carries its length, which matches a count of its lines", () => {
  const joined = (lines: string[]) => charCount(lines.join("\n"));
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "binary", minLength: 1, maxLength: 400 }), { maxLength: 60 }),
      fc.integer({ min: 0, max: 59 }),
      (bodies, forget) => {
        const texts = bodies
          .filter((body) => body.trim() !== "" && isStorableText(body))
          .map((body) => send(vera, body));
        const run = given([open(), ...texts]);
        assertEquals(run.state.transcriptChars, joined(run.state.transcript));
        // A state of an older version has no length: the next message counts it.
        const older = given([open(), ...texts.slice(0, forget)]);
        const { transcriptChars: _, ...without } = older.state;
        const next = given([send(vera, "one more")], { ...older, state: without });
        assertEquals(next.state.transcriptChars, joined(next.state.transcript));
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("session: characters are code points, a lone surrogate one of them", () => {
  fc.assert(fc.property(fc.string({ unit: "binary" }), (value) => {
    assertEquals(charCount(value), [...value].length);
  }));
  fc.assert(
    fc.property(
      fc.string({
        unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((code) => String.fromCharCode(code)),
      }),
      (value) => {
        assertEquals(charCount(value), [...value].length);
      },
    ),
  );
});

Deno.test("session: ticket ids are valid actor ids, deterministic and distinct", () => {
  const part = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
  assertEquals(chatTicketId("s-1"), "chat-s-1");
  const fits = "a".repeat(123);
  assertEquals(chatTicketId(fits), `chat-${fits}`);
  const a = `${"a".repeat(125)}xyz`;
  const b = `${"a".repeat(125)}xyw`;
  for (const id of [a, b]) {
    assertMatch(chatTicketId(id), part);
    assertEquals(chatTicketId(id), chatTicketId(id));
  }
  assert(chatTicketId(a) !== chatTicketId(b));
});

Deno.test("session: an assigned conversation quiet for the idle limit closes", () => {
  const run = given([
    open(),
    { command: claim(alice), at: T0 + MIN },
    { command: send(vera), at: T0 + 5 * MIN },
  ]);
  // The timer stays where the claim put it: messages do not move it.
  assertEquals(session.timers!(run.state), [{ name: "idle_close", at: T0 + 21 * MIN }]);
  assertEquals(events(when(run, timer("idle_close", T0 + 20 * MIN)).decision), [], "stale");
  // When it fires early, it looks again at the end of the real idle period.
  const { decision: early, run: deferred } = when(run, {
    command: timer("idle_close", T0 + 21 * MIN),
    at: T0 + 21 * MIN,
  });
  assertEquals(events(early), [{
    type: "idle_checked",
    by: systemSub,
    at: T0 + 21 * MIN,
    next: T0 + 25 * MIN,
  }]);
  assertEquals(session.timers!(deferred.state), [{ name: "idle_close", at: T0 + 25 * MIN }]);
  const { decision, run: idle } = when(deferred, {
    command: timer("idle_close", T0 + 25 * MIN),
    at: T0 + 25 * MIN,
  });
  const [closed, message] = events(decision);
  assertEquals(closed, { type: "closed", by: systemSub, at: T0 + 25 * MIN, reason: "idle" });
  assertObjectMatch(message, {
    kind: "system",
    body: "Closed after 20 minutes without messages",
    seq: 4,
    publicSeq: 4,
  });
  assertObjectMatch(idle.state, { status: "closed", closedBy: systemSub, closeReason: "idle" });
  assertEquals(session.timers!(idle.state), []);
});

Deno.test("session: a note keeps an assigned conversation from idling", () => {
  const run = given([open(), claim(alice), {
    command: send(alice, "waiting on vendor", "note"),
    at: T0 + 15 * MIN,
  }]);
  const { decision } = when(run, {
    command: timer("idle_close", T0 + 20 * MIN),
    at: T0 + 20 * MIN,
  });
  assertObjectMatch(events(decision)[0], { type: "idle_checked", next: T0 + 35 * MIN });
});

Deno.test("session: stale and repeated timers are ignored", () => {
  const queued = given([open()]);
  const assigned = given([claim(alice)], queued);
  const converted = given([timer("wait_limit", T0 + 10 * MIN)], queued);
  const cases: [string, Run, TimerCommand][] = [
    ["wait limit at another time", queued, timer("wait_limit", T0 + 9 * MIN)],
    ["unknown timer", queued, timer("sla.resolution", T0 + 10 * MIN)],
    ["idle close while queued", queued, timer("idle_close", T0 + 20 * MIN)],
    ["wait limit after a claim", assigned, timer("wait_limit", T0 + 10 * MIN)],
    ["wait limit again after conversion", converted, timer("wait_limit", T0 + 10 * MIN)],
    ["idle close after conversion", converted, timer("idle_close", T0 + 20 * MIN)],
  ];
  for (const [label, run, command] of cases) {
    assertEquals(events(when(run, command).decision), [], label);
  }
});

Deno.test("session: clocks are the tenant's as of the open", () => {
  const slow: TenantSettings = { ...tenant, chat: { waitLimitMinutes: 60, idleCloseMinutes: 90 } };
  const run = given([{ command: open(), tenant: slow }, { command: claim(alice), tenant }]);
  assertEquals(session.timers!(run.state), [{ name: "idle_close", at: T0 + 90 * MIN }]);
  const defaults = given([{ command: open(), tenant: defaultTenantSettings }]);
  assertEquals(session.timers!(defaults.state), [{ name: "wait_limit", at: T0 + 5 * MIN }]);
});

Deno.test("session: the default tenant settings give chat clocks", () => {
  assertEquals(defaultTenantSettings.chat, { waitLimitMinutes: 5, idleCloseMinutes: 30 });
});

Deno.test("session: project and view summarise without message bodies", () => {
  assertEquals(session.project!(session.initial(address)), null);
  assertEquals(session.view!(session.initial(address)), null);
  const run = given([
    open({ subject: "Login" }),
    { command: claim(alice), at: T0 + MIN },
    { command: send(alice, "internal", "note"), at: T0 + 2 * MIN },
    { command: close(vera), at: T0 + 3 * MIN },
    { command: rate(vera, 5, "great"), at: T0 + 4 * MIN },
  ]);
  const summary = {
    id: "s-1",
    tenant: "acme",
    status: "closed",
    visitor: { id: "vera", name: "Vera", verified: true },
    agent: "alice",
    subject: "Login",
    messages: 4,
    lastMessageAt: T0 + 3 * MIN,
    rating: { score: 5, comment: "great" },
    ticketId: null,
    closeReason: "visitor",
    // Alice wrote the note (seq 3): she has read up to it.
    readMarkers: { "agent:alice": 3 },
    createdAt: T0,
    updatedAt: T0 + 4 * MIN,
  };
  assertEquals(session.project!(run.state), {
    status: "closed",
    assignee: "alice",
    createdAt: T0,
    updatedAt: T0 + 4 * MIN,
    doc: summary,
  });
  assertEquals(session.view!(run.state), {
    ...summary,
    seq: 4,
    publicSeq: 3,
    closedAt: T0 + 3 * MIN,
    closedBy: "vera",
  });
  assert(!JSON.stringify(session.project!(run.state)).includes("internal"));
});

Deno.test("session: evolve is pure: replay is deterministic, never mutates, state is JSON", () => {
  const { events, state } = given([
    open(),
    send(vera),
    claim(alice),
    send(alice, "n", "note"),
    transfer(alice, "bob", "shift end"),
    close(bob),
    rate(vera, 2),
  ]);
  assertEquals(replay(events), replay(events));
  assertEquals(replay(events), state);
  assertEquals(JSON.parse(JSON.stringify(state)), state);
  for (const event of events) assertEquals(JSON.parse(JSON.stringify(event)), event);
});

/** A random command: who sends it and what it is, resolved against the state when it runs. */
type Move =
  | { type: "send"; who: number; kind: "text" | "note" }
  | { type: "claim" | "close" | "rate"; who: number }
  | { type: "transfer"; who: number; to: number }
  | { type: "timer"; due: boolean };

const callers = [vera, sam, alice, bob, sue, ada];
const who = fc.integer({ min: 0, max: callers.length - 1 });
const move: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      type: fc.constant("send" as const),
      who,
      kind: fc.constantFrom("text" as const, "note" as const),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constantFrom("claim" as const, "close" as const, "rate" as const),
      who,
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("transfer" as const), who, to: who }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant("timer" as const), due: fc.boolean() }) },
);
/** Minutes that pass before each move. */
const pause = fc.constantFrom(0, 0, 1, 7, 30);

function commandFor(m: Move, run: Run): Command | Step {
  switch (m.type) {
    case "send":
      return send(callers[m.who], "hi", m.kind);
    case "claim":
      return claim(callers[m.who]);
    case "close":
      return close(callers[m.who]);
    case "rate":
      return rate(callers[m.who], 3);
    case "transfer":
      return transfer(callers[m.who], callers[m.to].sub);
    case "timer": {
      const [wanted] = session.timers!(run.state);
      // The runtime delivers a timer once it is due; a stale one names a deadline no longer wanted.
      if (m.due && wanted) {
        return { command: timer(wanted.name, wanted.at), at: Math.max(run.now, wanted.at) };
      }
      return timer(wanted?.name ?? "wait_limit", (wanted?.at ?? run.now) - 1);
    }
  }
}

Deno.test("session: both message counters are gap-free over random conversations", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 3 }),
      fc.array(fc.tuple(pause, move), { minLength: 10, maxLength: 80, size: "max" }),
      (agentsOnline, moves) => {
        let run = fold([open({ agentsOnline })]);
        for (const [minutes, m] of moves) {
          const later = { ...run, now: run.now + minutes * MIN };
          const next = fold([commandFor(m, later)], later);
          run = {
            ...next,
            events: [...run.events, ...next.events],
            decisions: [...run.decisions, ...next.decisions],
          };
        }
        const messages = messagesOf(run.events);
        assertEquals(messages.map((m) => m.seq), messages.map((_, i) => i + 1));
        const visible = messages.filter((m) => !m.internal);
        assertEquals(visible.map((m) => m.publicSeq), visible.map((_, i) => i + 1));
        messages.forEach((m, i) => {
          const before = i === 0 ? 0 : messages[i - 1].publicSeq;
          assertEquals(m.publicSeq, m.internal ? before : before + 1);
          assertEquals(m.internal, m.kind === "note");
        });
        assertEquals([run.state.seq, run.state.publicSeq], [messages.length, visible.length]);
      },
    ),
    { numRuns: 300 },
  );
});

const markRead = (by: Caller, seq: number): CommandOf<"mark_read"> => ({
  type: "mark_read",
  by,
  seq,
});

Deno.test("session: mark_read checkpoints each participant's marker in its own numbering, held at the head", () => {
  const run = given([open(), claim(alice), send(alice, "n", "note"), send(alice), send(vera)]);
  assertEquals([run.state.seq, run.state.publicSeq], [5, 4]);
  const read = when(run, markRead(alice, 99));
  assertEquals(events(read.decision), [
    { type: "read_marked", by: "alice", at: T0, participant: "agent:alice", seq: 5 },
  ]);
  const both = when(read.run, markRead(vera, 3)).run;
  // Vera's own message (public 4) had raised hers past what she marks.
  assertEquals(both.state.readMarkers, { "agent:alice": 5, "visitor:vera": 4 });
  const view = session.view!(both.state) as { readMarkers: Record<string, number> };
  assertEquals(view.readMarkers, { "agent:alice": 5, "visitor:vera": 4 });
  // Reading is nobody else's news: the conversation did not change for them.
  assertEquals(both.state.updatedAt, run.state.updatedAt);
});

Deno.test("session: a message raises its author's read marker in the author's numbering", () => {
  const run = given([open(), claim(alice), send(vera), send(alice, "n", "note"), send(alice)]);
  // System lines raise nobody's; vera wrote public 3, alice the note (seq 4) and seq 5.
  assertEquals(run.state.readMarkers, { "visitor:vera": 3, "agent:alice": 5 });
  const later = when(run, send(vera)).run;
  assertEquals(later.state.readMarkers, { "visitor:vera": 5, "agent:alice": 5 });
  // Reading it is then nothing new: no event, no checkpoint needed.
  assertEquals(events(when(later, markRead(vera, 5)).decision), []);
});

Deno.test("session: mark_read is monotone and idempotent; visitors mark their own conversation only", () => {
  const run = given([open(), send(vera), send(vera), markRead(vera, 2)]);
  assertEquals(events(when(run, markRead(vera, 2)).decision), []);
  assertEquals(events(when(run, markRead(vera, 1)).decision), []);
  assertEquals(rejection(when(run, markRead(sam, 1)).decision).code, "forbidden");
  for (const seq of [-1, 1.5, Number.NaN, "2" as unknown as number]) {
    assertEquals(rejection(when(run, markRead(vera, seq)).decision).code, "validation");
  }
  assertEquals(rejection(fold([markRead(vera, 1)]).decisions[0]).code, "not_found");
  // A supervisor's marker is a staff marker, next to the visitor's.
  assertEquals(when(run, markRead(sue, 1)).run.state.readMarkers, {
    "visitor:vera": 3,
    "agent:sue": 1,
  });
});

Deno.test("session: after any marks, the marker is the highest seq asked for, held at the head", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(10), { maxLength: 12 }), (seqs) => {
      const run = given([
        open(),
        claim(alice),
        send(alice),
        send(alice),
        send(alice),
        ...seqs.map((seq) => markRead(vera, seq)),
      ]);
      const expected = Math.min(Math.max(0, ...seqs), run.state.publicSeq);
      assertEquals(run.state.readMarkers?.["visitor:vera"] ?? 0, expected);
      const raised = run.events.filter((event) => event.type === "read_marked");
      assertEquals(raised.map((event) => event.seq), [...new Set(raised.map((e) => e.seq))]);
    }),
  );
});
