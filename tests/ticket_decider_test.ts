import { assert, assertEquals, assertObjectMatch } from "@std/assert";
import {
  type Caller,
  defaultTenantSettings,
  systemSub,
  type TenantSettings,
  type TimerCommand,
} from "../actors/decider.ts";
import {
  type TicketCommand,
  ticketDecider as ticket,
  type TicketEvent,
  ticketLimits,
  type TicketState,
  type TicketStatus,
  visitorTicketView,
} from "../actors/ticket.ts";
import { deciderHarness, MIN, T0, timer } from "./_support/decider_harness.ts";
import { explanationBy, routeCommand } from "./_support/route_command.ts";
import type { DeciderRun, DeciderStep } from "./_support/decider_harness.ts";
import { ada, alice, bob, sam, sue, vera } from "./_support/decider_harness.ts";

const address = { kind: "ticket", tenant: "acme", id: "t-1" };

/** Short SLA targets so deadlines are easy to read. */
const tenant: TenantSettings = {
  sla: {
    low: { firstResponseMinutes: 60, resolutionMinutes: 600 },
    normal: { firstResponseMinutes: 30, resolutionMinutes: 240 },
    high: { firstResponseMinutes: 15, resolutionMinutes: 120 },
    urgent: { firstResponseMinutes: 5, resolutionMinutes: 60 },
  },
  reopenWindowMinutes: 60,
  chat: defaultTenantSettings.chat,
};

type Command = TicketCommand | TimerCommand;
type CommandOf<T extends TicketCommand["type"]> = Extract<TicketCommand, { type: T }>;
type Step = DeciderStep<TicketCommand>;
type Run = DeciderRun<TicketState, TicketEvent>;

const { fold, given, when, rejection, events, replay, assertLimit } = deciderHarness(ticket, {
  address,
  tenant,
});

// Opened by staff for vera, as only staff may triage (tags, team, priority) on create.
const create = (over: Partial<CommandOf<"create">> = {}): CommandOf<"create"> => ({
  type: "create",
  by: alice,
  requester: "vera",
  subject: "Printer on fire",
  body: "It is on fire.",
  tags: ["printer"],
  ...over,
});
const claim = (by: Caller): CommandOf<"claim"> => ({ type: "claim", by });
const assign = (by: Caller, agent: string): CommandOf<"assign"> => ({ type: "assign", by, agent });
const toAgent = (by: Caller, agent: string): CommandOf<"transfer"> => ({
  type: "transfer",
  by,
  to: { agent },
  reason: "needs hardware skills",
});
const toTeam = (by: Caller, team: string): CommandOf<"transfer"> => ({
  type: "transfer",
  by,
  to: { team },
  reason: "billing question",
});
const unassign = (by: Caller): CommandOf<"unassign"> => ({ type: "unassign", by });
const reply = (by: Caller, pending?: boolean): CommandOf<"comment"> => ({
  type: "comment",
  by,
  body: "Have you tried turning it off?",
  visibility: "public",
  ...(pending === undefined ? {} : { pending }),
});
const note = (by: Caller): CommandOf<"comment"> => ({
  type: "comment",
  by,
  body: "Customer sounds upset",
  visibility: "internal",
});
const priority = (by: Caller, value: CommandOf<"priority">["priority"]): CommandOf<"priority"> => ({
  type: "priority",
  by,
  priority: value,
});
const tag = (by: Caller, tags: string[]): CommandOf<"tag"> => ({ type: "tag", by, tags });
const untag = (by: Caller, tags: string[]): CommandOf<"untag"> => ({ type: "untag", by, tags });
const escalate = (by: Caller, level: number, reason = "VIP customer"): CommandOf<"escalate"> => ({
  type: "escalate",
  by,
  level,
  reason,
});
const resolve = (by: Caller): CommandOf<"resolve"> => ({ type: "resolve", by });
const close = (by: Caller): CommandOf<"close"> => ({ type: "close", by });
const reopen = (by: Caller): CommandOf<"reopen"> => ({ type: "reopen", by });

const statuses: TicketStatus[] = [
  "new",
  "assigned",
  "in_progress",
  "pending",
  "resolved",
  "closed",
];

/** Commands reaching each status; alice is the assignee wherever there is one. */
const reach: Record<TicketStatus, Command[]> = {
  new: [create()],
  assigned: [create(), claim(alice)],
  in_progress: [create(), claim(alice), reply(alice)],
  pending: [create(), claim(alice), reply(alice, true)],
  resolved: [create(), claim(alice), reply(alice), resolve(alice)],
  closed: [create(), claim(alice), reply(alice), resolve(alice), close(alice)],
};

/** The status a command leads to, or `!code` for the rejection it gets. */
type Outcome = TicketStatus | `!${string}`;
const same = (...except: [TicketStatus, Outcome][]): Record<TicketStatus, Outcome> => ({
  new: "new",
  assigned: "assigned",
  in_progress: "in_progress",
  pending: "pending",
  resolved: "resolved",
  closed: "closed",
  ...Object.fromEntries(except),
});
const openOnly = (...except: [TicketStatus, Outcome][]) =>
  same(["resolved", "!invalid_transition"], ["closed", "!ticket_closed"], ...except);

const transitions: [string, Command, Record<TicketStatus, Outcome>][] = [
  [
    "claim",
    claim(bob),
    openOnly(
      ["assigned", "!already_claimed"],
      ["in_progress", "!already_claimed"],
      ["pending", "!already_claimed"],
      ["new", "assigned"],
    ),
  ],
  ["assign", assign(sue, "bob"), openOnly(["new", "assigned"], ["in_progress", "assigned"])],
  [
    "transfer to agent",
    toAgent(alice, "bob"),
    openOnly(["new", "assigned"], [
      "in_progress",
      "assigned",
    ]),
  ],
  [
    "transfer to team",
    toTeam(alice, "billing"),
    openOnly(["assigned", "new"], ["in_progress", "new"], ["pending", "new"]),
  ],
  [
    "unassign",
    unassign(alice),
    openOnly(["new", "!invalid_transition"], ["assigned", "new"], ["in_progress", "new"], [
      "pending",
      "new",
    ]),
  ],
  ["agent reply", reply(bob), openOnly(["assigned", "in_progress"])],
  [
    "agent reply pending",
    reply(alice, true),
    openOnly(["new", "!invalid_transition"], ["assigned", "pending"], ["in_progress", "pending"]),
  ],
  [
    "agent reply not pending",
    reply(alice, false),
    openOnly(["assigned", "in_progress"], ["pending", "in_progress"]),
  ],
  ["requester reply", reply(vera), openOnly(["pending", "in_progress"])],
  ["internal note", note(bob), same(["closed", "!ticket_closed"])],
  ["priority", priority(bob, "urgent"), openOnly()],
  ["tag", tag(bob, ["vip"]), same(["closed", "!ticket_closed"])],
  ["untag", untag(bob, ["printer"]), same(["closed", "!ticket_closed"])],
  ["escalate", escalate(bob, 2), openOnly()],
  [
    "resolve",
    resolve(alice),
    openOnly(
      ["new", "!invalid_transition"],
      ["assigned", "resolved"],
      ["in_progress", "resolved"],
      ["pending", "resolved"],
    ),
  ],
  [
    "close by supervisor",
    close(sue),
    same(
      ["new", "closed"],
      ["assigned", "closed"],
      ["in_progress", "closed"],
      ["pending", "closed"],
      ["resolved", "closed"],
      ["closed", "!ticket_closed"],
    ),
  ],
  [
    "close by assignee",
    close(alice),
    same(
      ["new", "!forbidden"],
      ["assigned", "!forbidden"],
      ["in_progress", "!forbidden"],
      ["pending", "!forbidden"],
      ["resolved", "closed"],
      ["closed", "!ticket_closed"],
    ),
  ],
  ...[bob, vera].map((by): [string, Command, Record<TicketStatus, Outcome>] => [
    `reopen by ${by.role}`,
    reopen(by),
    same(
      ["new", "!invalid_transition"],
      ["assigned", "!invalid_transition"],
      ["in_progress", "!invalid_transition"],
      ["pending", "!invalid_transition"],
      ["resolved", "assigned"],
      ["closed", "assigned"],
    ),
  ]),
];

for (const [label, command, expected] of transitions) {
  Deno.test(`ticket: ${label} from every status`, async (t) => {
    for (const from of statuses) {
      await t.step(`${from} → ${expected[from]}`, () => {
        const { decision, run } = when(given(reach[from]), command);
        const outcome = expected[from];
        if (outcome.startsWith("!")) {
          const refused = rejection(decision);
          assertEquals(refused.code, outcome.slice(1));
          if (refused.code === "invalid_transition") {
            assertEquals(refused.details, { from, command: command.type });
          }
          if (refused.code === "already_claimed") assertEquals(refused.details, { owner: "alice" });
        } else {
          events(decision);
          assertEquals(run.state.status, outcome);
          const moves = run.events.filter((e) => e.type === "status_changed");
          assertEquals(moves.length, from === outcome ? 0 : 1, "one status_changed per move");
        }
      });
    }
  });
}

Deno.test("ticket: every command but create on a ticket never created is not_found", () => {
  const commands = transitions.map(([, command]) => command);
  for (const command of commands) {
    assertEquals(rejection(fold([command]).decisions[0]).code, "not_found", command.type);
  }
  assertEquals(fold([timer("sla.resolution", T0)]).decisions[0], { events: [] });
  assertEquals(ticket.project!(ticket.initial(address)), null);
  assertEquals(ticket.view!(ticket.initial(address)), null);
  assertEquals(ticket.timers!(ticket.initial(address)), []);
});

Deno.test("ticket: create records the ticket and its audit facts", () => {
  const run = given([{
    command: create({ by: alice, requester: "vera", priority: "high", team: " Hardware " }),
    id: "c-1",
  }]);
  assertEquals(run.events, [{
    type: "created",
    by: "alice",
    at: T0,
    commandId: "c-1",
    subject: "Printer on fire",
    body: "It is on fire.",
    priority: "high",
    tags: ["printer"],
    team: "Hardware",
    requester: "vera",
    sla: { firstResponseMinutes: 15, resolutionMinutes: 120 },
  }]);
  assertObjectMatch(run.state, { status: "new", assignee: null, requester: "vera", createdAt: T0 });
});

Deno.test("ticket: create defaults to normal priority, no team and the caller as requester", () => {
  const { state } = given([create({ by: vera, requester: undefined, tags: undefined })]);
  assertObjectMatch(state, { priority: "normal", team: null, requester: "vera", tags: [] });
});

Deno.test("ticket: visitors may not triage their own ticket on create: priority, team, tags are 400", () => {
  const fields = { priority: "urgent", team: "vip", tags: ["jump-the-queue"] } as const;
  for (const [field, value] of Object.entries(fields)) {
    const own = create({ by: vera, requester: undefined, tags: undefined, [field]: value });
    assertEquals(rejection(fold([own]).decisions[0]), {
      code: "validation",
      message: `visitors may not set ${field}`,
      field,
    });
  }
  assertEquals(events(fold([create({ priority: "urgent", team: "vip" })]).decisions[0]).length, 1);
});

Deno.test("ticket: a visitor's view shows where the ticket stands, not the staff's triage or notes", () => {
  const run = given([create({ priority: "high", team: "vip" }), claim(alice)]);
  const staff = ticket.view!(run.state) as Record<string, unknown>;
  assertEquals(Object.keys(visitorTicketView(staff)).sort(), [
    "closedAt",
    "comments",
    "createdAt",
    "id",
    "requester",
    "resolvedAt",
    "status",
    "subject",
    "updatedAt",
  ]);
  assertEquals(visitorTicketView(staff).status, "assigned");
});

Deno.test("ticket: a retried create is accepted without events, another create is already_exists", () => {
  const run = given([{ command: create(), id: "c-1" }]);
  assertEquals(when(run, { command: create(), id: "c-1" }).decision, { events: [] });
  assertEquals(
    rejection(when(run, { command: create(), id: "c-2" }).decision).code,
    "already_exists",
  );
});

Deno.test("ticket: in a claim storm the first claim wins and every loser learns the owner", () => {
  let run = given([create()]);
  const agents = ["a1", "a2", "a3", "a4", "a5"].map((sub): Caller => ({ sub, role: "agent" }));
  const decisions = agents.map((by) => {
    const next = when(run, claim(by));
    run = next.run;
    return next.decision;
  });
  assertEquals(events(decisions[0]).map((e) => e.type), ["assigned", "status_changed"]);
  for (const decision of decisions.slice(1)) {
    assertEquals(rejection(decision).code, "already_claimed");
    assertEquals(rejection(decision).details, { owner: "a1" });
  }
  assertEquals(rejection(when(run, claim(agents[0])).decision).details, { owner: "a1" });
  assertEquals(run.state.assignee, "a1");
});

Deno.test("ticket: assignment events name the previous owner and how it happened", () => {
  const run = given([create(), claim(alice), assign(ada, "bob")]);
  assertObjectMatch(run.events[1], {
    type: "assigned",
    agent: "alice",
    previous: null,
    via: "claim",
  });
  assertObjectMatch(run.events[3], {
    type: "assigned",
    agent: "bob",
    previous: "alice",
    via: "assign",
  });
  assertEquals(run.state.assignee, "bob");
});

Deno.test("ticket: transfer to a team unassigns and sets the team", () => {
  const run = given([create({ team: "hardware" }), claim(alice), toTeam(alice, "billing")]);
  assertObjectMatch(run.events[3], {
    type: "transferred",
    by: "alice",
    from: { agent: "alice", team: "hardware" },
    to: { team: "billing" },
    reason: "billing question",
  });
  assertObjectMatch(run.state, { status: "new", assignee: null, team: "billing" });
});

Deno.test("ticket: transfer to an agent keeps the team", () => {
  const run = given([create({ team: "hardware" }), claim(alice), toAgent(alice, "bob")]);
  assertObjectMatch(run.state, { status: "assigned", assignee: "bob", team: "hardware" });
});

Deno.test("ticket: commands that change nothing are accepted without events", () => {
  const assigned = given([create({ team: "hardware" }), claim(alice)]);
  const fresh = given([create({ team: "hardware" })]);
  const cases: [Run, Command][] = [
    [assigned, assign(sue, "alice")],
    [assigned, toAgent(alice, "alice")],
    [fresh, toTeam(bob, "hardware")],
    [assigned, priority(bob, "normal")],
    [assigned, tag(bob, ["Printer"])],
    [assigned, untag(bob, ["absent"])],
  ];
  for (const [run, command] of cases) {
    assertEquals(when(run, command).decision, { events: [] }, JSON.stringify(command));
  }
});

Deno.test("ticket: reopen of an unassigned ticket returns it to new", () => {
  const run = given([create(), close(sue), reopen(vera)]);
  assertEquals(run.state.status, "new");
});

Deno.test("ticket: a closed ticket reopens only within the tenant's window", () => {
  const closed = given([...reach.closed.slice(0, -1), {
    command: close(alice),
    at: T0 + 10 * MIN,
  }]);
  const until = T0 + 10 * MIN + tenant.reopenWindowMinutes * MIN;
  assertEquals(when(closed, { command: reopen(vera), at: until }).run.state.status, "assigned");
  const late = rejection(when(closed, { command: reopen(vera), at: until + 1 }).decision);
  assertEquals(late.code, "ticket_closed");
  assertEquals(late.details, { closedAt: T0 + 10 * MIN, reopenableUntil: until });
});

Deno.test("ticket: escalation only goes up", () => {
  const run = given([...reach.assigned, escalate(bob, 3)]);
  assertObjectMatch(run.events.at(-1)!, { type: "escalated", from: 0, level: 3 });
  for (const level of [2, 3]) {
    const refused = rejection(when(run, escalate(bob, level)).decision);
    assertEquals(refused.code, "already_escalated");
    assertEquals(refused.details, { level: 3 });
  }
  assertEquals(given([escalate(sue, 5)], run).state.escalationLevel, 5);
});

Deno.test("ticket: tags are added, deduplicated and removed", () => {
  const run = given([
    create({ tags: [" VIP ", "vip", "Billing"] }),
    tag(bob, ["billing", "Refund"]),
    untag(bob, ["VIP"]),
  ]);
  assertEquals(run.state.tags, ["billing", "refund"]);
  assertObjectMatch(run.events[1], { type: "tagged", by: "bob", tags: ["refund"] });
  assertObjectMatch(run.events[2], { type: "untagged", by: "bob", tags: ["vip"] });
});

Deno.test("ticket: an unknown command type is refused", () => {
  const command = { type: "teleport", by: alice } as unknown as Command;
  const refused = rejection(when(given([create()]), command).decision);
  assertEquals([refused.code, refused.field], ["invalid_command", "type"]);
});

const roleCases: [string, TicketStatus, Command][] = [
  ["visitor claims", "new", claim(vera)],
  ["visitor assigns", "new", assign(vera, "alice")],
  ["agent assigns", "new", assign(bob, "alice")],
  ["visitor transfers", "assigned", toTeam(vera, "billing")],
  ["agent transfers a colleague's ticket", "assigned", toAgent(bob, "bob")],
  ["visitor unassigns", "assigned", unassign(vera)],
  ["agent unassigns a colleague's ticket", "assigned", unassign(bob)],
  ["visitor posts an internal note", "assigned", note(vera)],
  ["visitor sets pending", "in_progress", reply(vera, true)],
  ["visitor comments on someone else's ticket", "assigned", reply(sam)],
  ["visitor changes priority", "assigned", priority(vera, "urgent")],
  ["visitor tags", "assigned", tag(vera, ["vip"])],
  ["visitor untags", "assigned", untag(vera, ["printer"])],
  ["visitor escalates", "assigned", escalate(vera, 1)],
  ["visitor resolves", "in_progress", resolve(vera)],
  ["agent resolves a colleague's ticket", "in_progress", resolve(bob)],
  ["visitor closes", "resolved", close(vera)],
  ["agent closes a colleague's resolved ticket", "resolved", close(bob)],
  ["agent closes an open ticket", "in_progress", close(alice)],
  ["visitor reopens someone else's ticket", "resolved", reopen(sam)],
];

Deno.test("ticket: role checks refuse with forbidden", async (t) => {
  await t.step("visitor opens a ticket for someone else", () => {
    const forSam = create({ by: vera, requester: "sam", tags: undefined });
    assertEquals(rejection(fold([forSam]).decisions[0]).code, "forbidden");
  });
  for (const [label, status, command] of roleCases) {
    await t.step(label, () => {
      assertEquals(rejection(when(given(reach[status]), command).decision).code, "forbidden");
    });
  }
});

Deno.test("ticket: supervisors and admins may act on any ticket", () => {
  const allowed: [TicketStatus, Command][] = [
    ["new", claim(ada)],
    ["assigned", assign(sue, "bob")],
    ["assigned", assign(ada, "bob")],
    ["assigned", toAgent(sue, "bob")],
    ["assigned", unassign(ada)],
    ["in_progress", resolve(sue)],
    ["resolved", close(ada)],
    ["new", toTeam(bob, "billing")],
    ["resolved", reopen(bob)],
  ];
  for (const [status, command] of allowed) {
    events(when(given(reach[status]), command).decision);
  }
  const forVera = given([create({ by: alice, requester: "vera" }), claim(bob), reply(vera)]);
  assertEquals(forVera.state.requester, "vera");
});

const long = (n: number) => "x".repeat(n);
const manyTags = (n: number) => Array.from({ length: n }, (_, i) => `tag-${i}`);

/** Label, starting status, command, and the refused field or `ok`. */
const limitCases: [string, TicketStatus | "none", Command, string][] = [
  ["subject empty", "none", create({ subject: "" }), "subject"],
  ["subject blank", "none", create({ subject: "   " }), "subject"],
  ["subject 200 chars", "none", create({ subject: long(200) }), "ok"],
  ["subject 201 chars", "none", create({ subject: long(201) }), "subject"],
  ["subject 200 emoji", "none", create({ subject: "🔥".repeat(200) }), "ok"],
  ["subject 200 chars after trimming", "none", create({ subject: ` ${long(200)} ` }), "ok"],
  ["body empty", "none", create({ body: "" }), "body"],
  ["body 20000 chars", "none", create({ body: long(20_000) }), "ok"],
  ["body 20001 chars", "none", create({ body: long(20_001) }), "body"],
  ["20 tags", "none", create({ tags: manyTags(20) }), "ok"],
  ["21 tags", "none", create({ tags: manyTags(21) }), "tags"],
  ["21 tags that normalise to 20", "none", create({ tags: [...manyTags(20), "TAG-0"] }), "ok"],
  ["tag 40 chars", "none", create({ tags: [long(40)] }), "ok"],
  ["tag 41 chars", "none", create({ tags: [long(41)] }), "tags"],
  ["tag blank", "none", create({ tags: ["  "] }), "tags"],
  ["priority unknown", "none", create({ priority: "critical" as "high" }), "priority"],
  ["team empty", "none", create({ team: "" }), "team"],
  ["team 80 chars", "none", create({ team: long(80) }), "ok"],
  ["team 81 chars", "none", create({ team: long(81) }), "team"],
  ["requester empty", "none", create({ by: alice, requester: "" }), "requester"],
  ["comment body empty", "assigned", { ...reply(alice), body: "" }, "body"],
  ["comment body 20000 chars", "assigned", { ...reply(alice), body: long(20_000) }, "ok"],
  ["comment body 20001 chars", "assigned", { ...reply(alice), body: long(20_001) }, "body"],
  [
    "comment visibility unknown",
    "assigned",
    { ...reply(alice), visibility: "secret" as "public" },
    "visibility",
  ],
  ["internal note with pending", "assigned", { ...note(alice), pending: true }, "pending"],
  ["tag nothing", "assigned", tag(bob, []), "tags"],
  ["tag 41 chars", "assigned", tag(bob, [long(41)]), "tags"],
  ["tag up to 20 on the ticket", "assigned", tag(bob, manyTags(19)), "ok"],
  ["tag past 20 on the ticket", "assigned", tag(bob, manyTags(20)), "tags"],
  ["untag nothing", "assigned", untag(bob, []), "tags"],
  ["priority unknown", "assigned", priority(bob, "asap" as "high"), "priority"],
  ["escalate level 0", "assigned", escalate(bob, 0), "level"],
  ["escalate level 1", "assigned", escalate(bob, 1), "ok"],
  ["escalate level 5", "assigned", escalate(bob, 5), "ok"],
  ["escalate level 6", "assigned", escalate(bob, 6), "level"],
  ["escalate level 1.5", "assigned", escalate(bob, 1.5), "level"],
  ["escalate reason empty", "assigned", escalate(bob, 1, ""), "reason"],
  ["escalate reason 500 chars", "assigned", escalate(bob, 1, long(500)), "ok"],
  ["escalate reason 501 chars", "assigned", escalate(bob, 1, long(501)), "reason"],
  ["transfer to nobody", "assigned", { ...toTeam(alice, "x"), to: {} as { team: string } }, "to"],
  ["transfer to team empty", "assigned", toTeam(alice, ""), "to.team"],
  ["transfer to team 80 chars", "assigned", toTeam(alice, long(80)), "ok"],
  ["transfer to team 81 chars", "assigned", toTeam(alice, long(81)), "to.team"],
  ["transfer to agent empty", "assigned", toAgent(alice, ""), "to.agent"],
  ["transfer reason empty", "assigned", { ...toAgent(alice, "bob"), reason: " " }, "reason"],
  ["assign agent empty", "assigned", assign(sue, ""), "agent"],
];

Deno.test("ticket: business limits refuse with validation naming the field", async (t) => {
  for (const [label, status, command, field] of limitCases) {
    await t.step(`${label}: ${field}`, () => {
      assertLimit(status === "none" ? fold([]) : given(reach[status]), command, field);
    });
  }
});

Deno.test("ticket: a created ticket wants first-response and resolution timers", () => {
  const { state } = given([create()]);
  assertEquals(ticket.timers!(state), [
    { name: "sla.first_response", at: T0 + 30 * MIN },
    { name: "sla.resolution", at: T0 + 240 * MIN },
  ]);
  assertObjectMatch(ticket.project!(state)!.doc, {
    sla: {
      firstResponseDueAt: T0 + 30 * MIN,
      firstRespondedAt: null,
      resolutionDueAt: T0 + 240 * MIN,
      paused: false,
      breached: { firstResponse: false, resolution: false },
    },
  });
});

Deno.test("ticket: only the first public agent reply stops the first-response clock", () => {
  const waiting = given([
    create(),
    { command: note(alice), at: T0 + MIN },
    { command: reply(vera), at: T0 + 2 * MIN },
    { command: claim(alice), at: T0 + 3 * MIN },
  ]);
  assertEquals(ticket.timers!(waiting.state).map((t) => t.name), [
    "sla.first_response",
    "sla.resolution",
  ]);
  const answered = given([{ command: reply(bob), at: T0 + 4 * MIN }], waiting);
  assertEquals(answered.state.sla.firstRespondedAt, T0 + 4 * MIN);
  assertEquals(ticket.timers!(answered.state), [{ name: "sla.resolution", at: T0 + 240 * MIN }]);
  const later = given([{ command: reply(alice), at: T0 + 9 * MIN }], answered);
  assertEquals(later.state.sla.firstRespondedAt, T0 + 4 * MIN);
});

Deno.test("ticket: pending pauses the resolution clock and resuming moves the deadline", () => {
  const pending = given([
    create(),
    claim(alice),
    { command: reply(alice, true), at: T0 + 10 * MIN },
  ]);
  assertEquals(ticket.timers!(pending.state), []);
  assertEquals((ticket.project!(pending.state)!.doc.sla as { paused: boolean }).paused, true);
  const resumed = given([{ command: reply(vera), at: T0 + 70 * MIN }], pending);
  assertEquals(resumed.state.status, "in_progress");
  assertEquals(ticket.timers!(resumed.state), [{ name: "sla.resolution", at: T0 + 300 * MIN }]);
  const twice = given([
    { command: reply(alice, true), at: T0 + 80 * MIN },
    { command: reply(alice, false), at: T0 + 100 * MIN },
  ], resumed);
  assertEquals(ticket.timers!(twice.state), [{ name: "sla.resolution", at: T0 + 320 * MIN }]);
});

Deno.test("ticket: resolved and closed tickets want no timers; reopening resumes the clock", () => {
  const resolved = given([...reach.in_progress, { command: resolve(alice), at: T0 + 20 * MIN }]);
  assertEquals(ticket.timers!(resolved.state), []);
  assertEquals(ticket.timers!(given([close(alice)], resolved).state), []);
  const reopened = given([{ command: reopen(vera), at: T0 + 50 * MIN }], resolved);
  assertEquals(ticket.timers!(reopened.state), [{ name: "sla.resolution", at: T0 + 270 * MIN }]);
});

Deno.test("ticket: a priority change recomputes deadlines from creation", () => {
  const run = given([create(), { command: priority(bob, "urgent"), at: T0 + 2 * MIN }]);
  assertObjectMatch(run.events[1], {
    type: "priority_changed",
    from: "normal",
    to: "urgent",
    sla: { firstResponseMinutes: 5, resolutionMinutes: 60 },
  });
  assertEquals(ticket.timers!(run.state), [
    { name: "sla.first_response", at: T0 + 5 * MIN },
    { name: "sla.resolution", at: T0 + 60 * MIN },
  ]);
  const stale = when(run, {
    command: timer("sla.first_response", T0 + 30 * MIN),
    at: T0 + 30 * MIN,
  });
  assertEquals(stale.decision, { events: [] });
});

Deno.test("ticket: a breach emits sla_breached, escalates, and stops that clock", () => {
  const created = given([create()]);
  const due = T0 + 30 * MIN;
  const breached = when(created, { command: timer("sla.first_response", due), at: due + 7 });
  assertEquals(events(breached.decision), [
    { type: "sla_breached", by: systemSub, at: due + 7, clock: "first_response", dueAt: due },
    {
      type: "escalated",
      by: systemSub,
      at: due + 7,
      from: 0,
      level: 1,
      reason: "sla.first_response breached",
    },
  ]);
  assertEquals(ticket.timers!(breached.run.state), [
    { name: "sla.resolution", at: T0 + 240 * MIN },
  ]);
  const again = when(breached.run, timer("sla.first_response", due));
  assertEquals(again.decision, { events: [] }, "a timer delivered twice has no second effect");

  const both = given([timer("sla.resolution", T0 + 240 * MIN)], breached.run);
  assertEquals(both.state.escalationLevel, 2);
  assertEquals(ticket.timers!(both.state), []);
  assertObjectMatch(ticket.view!(both.state) as Record<string, unknown>, {
    escalationLevel: 2,
    sla: { breached: { firstResponse: true, resolution: true } },
  });
});

Deno.test("ticket: a breach at the top escalation level only records the breach", () => {
  const run = given([create(), escalate(sue, ticketLimits.maxEscalationLevel)]);
  const breach = when(run, timer("sla.first_response", T0 + 30 * MIN));
  assertEquals(events(breach.decision).map((e) => e.type), ["sla_breached"]);
  assertEquals(breach.run.state.escalationLevel, 5);
});

Deno.test("ticket: timers that no longer match are ignored", () => {
  const pending = given([...reach.pending]);
  const cases: [Run, TimerCommand][] = [
    [pending, timer("sla.resolution", T0 + 240 * MIN)],
    [given(reach.in_progress), timer("sla.first_response", T0 + 30 * MIN)],
    [given(reach.resolved), timer("sla.resolution", T0 + 240 * MIN)],
    [given([create()]), timer("sla.resolution", T0 + 239 * MIN)],
    [given([create()]), timer("idle.close", T0 + 240 * MIN)],
  ];
  for (const [run, command] of cases) {
    assertEquals(when(run, command).decision, { events: [] }, JSON.stringify(command));
  }
});

Deno.test("ticket: project and view summarise without comment bodies", () => {
  const run = given([
    create({ team: "hardware" }),
    claim(alice),
    { command: reply(alice), at: T0 + MIN },
    { command: note(bob), at: T0 + 2 * MIN },
    { command: reply(vera), at: T0 + 3 * MIN },
  ]);
  const projection = ticket.project!(run.state)!;
  assertObjectMatch(projection, {
    status: "in_progress",
    assignee: "alice",
    createdAt: T0,
    updatedAt: T0 + 3 * MIN,
  });
  assertObjectMatch(projection.doc, {
    id: "t-1",
    tenant: "acme",
    subject: "Printer on fire",
    status: "in_progress",
    priority: "normal",
    assignee: "alice",
    team: "hardware",
    tags: ["printer"],
    requester: "vera",
    escalationLevel: 0,
  });
  const view = ticket.view!(run.state) as Record<string, unknown>;
  assertObjectMatch(view, { comments: 2, notes: 1, resolvedAt: null, closedAt: null });
  assertEquals(JSON.parse(JSON.stringify(view)), view);
  assert(!JSON.stringify(run.state).includes("turning it off"), "state holds no comment bodies");
});

Deno.test("ticket: resolvedAt and closedAt follow the life cycle", () => {
  const resolved = given([...reach.in_progress, { command: resolve(alice), at: T0 + MIN }]);
  assertObjectMatch(resolved.state, { resolvedAt: T0 + MIN, closedAt: null });
  const closed = given([{ command: close(alice), at: T0 + 2 * MIN }], resolved);
  assertObjectMatch(closed.state, { resolvedAt: T0 + MIN, closedAt: T0 + 2 * MIN });
  const reopened = given([{ command: reopen(vera), at: T0 + 3 * MIN }], closed);
  assertObjectMatch(reopened.state, { resolvedAt: null, closedAt: null });
});

/** A tour through every event type. */
const tour: Step[] = [
  create(),
  claim(alice),
  reply(alice),
  note(bob),
  priority(bob, "high"),
  tag(bob, ["vip"]),
  untag(bob, ["printer"]),
  escalate(bob, 1),
  toAgent(alice, "bob"),
  unassign(bob),
  timer("sla.resolution", T0 + 120 * MIN),
  assign(sue, "alice"),
  toTeam(alice, "billing"),
  claim(bob),
  reply(vera),
  resolve(sue),
].map((command, i) => ({ command, at: T0 + i * 10 * MIN }));

Deno.test("ticket: every event carries who, the turn's time and JSON-able fields only", () => {
  const run = given(tour);
  const types = new Set(run.events.map((e) => e.type));
  assertEquals(types.size, 11, [...types].join(", "));
  for (const event of run.events) {
    assert(typeof event.by === "string" && event.by !== "", event.type);
    assert(tour.some((step) => step.at === event.at), `${event.type} at ${event.at}`);
    assertEquals(JSON.parse(JSON.stringify(event)), event);
  }
  assertEquals(run.state.updatedAt, T0 + 150 * MIN);
});

Deno.test("ticket: evolve is pure: replay is deterministic and never mutates", () => {
  const { events, state } = given(tour);
  assertEquals(replay(events), replay(events));
  assertEquals(replay(events), state);
});

Deno.test("ticket: the default tenant settings cover every priority", () => {
  for (const p of ["low", "normal", "high", "urgent"] as const) {
    const { firstResponseMinutes, resolutionMinutes } = defaultTenantSettings.sla[p];
    assert(firstResponseMinutes > 0 && resolutionMinutes > firstResponseMinutes, p);
  }
  assert(defaultTenantSettings.reopenWindowMinutes > 0);
});

// Each event's effects, asked with the state the event leads to, as the runtime does.
function queueCommandsOf(history: TicketEvent[]) {
  let state = ticket.initial(address);
  return history.flatMap((event) => {
    state = ticket.evolve(state, event);
    return ticket.effects!(state, event, address).map((effect) => {
      assertEquals(effect.address, { kind: "queue", tenant: "acme", id: "main" });
      return effect;
    });
  });
}

const item = { kind: "ticket", id: "t-1" };

Deno.test("ticket: the queue hears of every change of who holds it", () => {
  const run = given([
    create({ by: sue, priority: "high", tags: ["vip"], team: "billing" }),
    claim(alice),
    unassign(alice),
    assign(sue, "bob"),
    toTeam(bob, "support"),
    toAgent(sue, "alice"),
    reply(alice),
    resolve(alice),
    reopen(alice),
    close(sue),
  ]);
  const sent = queueCommandsOf(run.events);
  assertEquals(sent.map((effect) => effect.command), [
    {
      type: "arrive",
      item: { ...item, priority: "high", tags: ["vip"], team: "billing" },
    },
    { type: "leave", item, reason: "claimed", agent: "alice" },
    { type: "requeue", item },
    { type: "leave", item, reason: "assigned", agent: "bob" },
    { type: "requeue", item, team: "support" },
    { type: "leave", item, reason: "transferred", agent: "alice" },
    { type: "leave", item, reason: "resolved" },
    // Reopened with its assignee: it is hers again.
    { type: "leave", item, reason: "assigned", agent: "alice" },
    { type: "leave", item, reason: "closed" },
  ]);
  assertEquals(new Set(sent.map((effect) => effect.commandId)).size, sent.length);
});

const explanation = explanationBy("skills-weighted", 0.5);
const route = (agent: string, replaces: string | null = null) =>
  routeCommand(agent, explanation, replaces);

Deno.test("ticket: the queue's assignment is taken like a claim and says why", () => {
  const run = given([create(), route("alice")]);
  assertObjectMatch(run.events[1], {
    type: "assigned",
    by: systemSub,
    agent: "alice",
    via: "route",
    explanation,
  });
  assertEquals(run.state.status, "assigned");
  assertEquals(queueCommandsOf(run.events).map((effect) => effect.command.type), ["arrive"]);
});

Deno.test("ticket: a claim by hand that came first keeps the ticket", () => {
  const claimed = given([create(), claim(bob)]);
  const { run } = when(claimed, route("alice"));
  assertEquals(run.events, []);
  assertEquals(run.state.assignee, "bob");
  assertEquals(
    when(given([create(), claim(bob)]), route("alice", "bob")).run.state.assignee,
    "alice",
  );
  const { decision } = when(given([create()]), { ...route("alice"), by: alice });
  assertEquals(rejection(decision).code, "forbidden");
});

Deno.test("ticket: an assignment that reaches a ticket no longer open is handed back to the queue", () => {
  const resolved = given([create(), claim(alice), resolve(alice)]);
  const { run } = when(resolved, route("bob"));
  assertObjectMatch(run.events[0], { type: "route_declined", by: systemSub, agent: "bob" });
  assertEquals(run.state.assignee, "alice");
  const sent = ticket.effects!(run.state, run.events[0], address);
  assertEquals(sent.map((effect) => effect.command), [{ type: "leave", item, reason: "resolved" }]);
});
