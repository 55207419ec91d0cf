// Agent load from committed conversation events: what each batch implies,
// and the counts one node keeps under its own key.
import { assertEquals } from "@std/assert";
import { loadChanges, LoadFeed, loadOf } from "../cluster/process/load_feed.ts";
import { createSharedState } from "../cluster/process/shared_state.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import type { NewEvent } from "../cluster/store/event_store.ts";
import type { Projection } from "../actors/decider.ts";

const session = { kind: "session", tenant: "acme", id: "c1" };
const event = (type: string, data: Record<string, unknown> = {}): NewEvent => ({
  seq: 1,
  type,
  data,
  commandId: "x",
  at: 0,
});
const row = (assignee: string | null): Projection => ({
  status: "closed",
  assignee,
  createdAt: 0,
  updatedAt: 0,
  doc: {},
});

Deno.test("load: a claim, a transfer and a close move one open chat", () => {
  assertEquals(loadChanges(session, [event("assigned", { agent: "ana", previous: null })], null), [
    { agent: "ana", chats: 1, tickets: 0 },
  ]);
  assertEquals(
    loadChanges(session, [event("assigned", { agent: "bo", previous: "ana" })], null),
    [{ agent: "ana", chats: -1, tickets: 0 }, { agent: "bo", chats: 1, tickets: 0 }],
  );
  assertEquals(loadChanges(session, [event("message"), event("closed")], row("bo")), [
    { agent: "bo", chats: -1, tickets: 0 },
  ]);
  // A queued chat that closes (or becomes a ticket) was nobody's.
  assertEquals(loadChanges(session, [event("converted"), event("closed")], row(null)), []);
  assertEquals(loadChanges({ ...session, kind: "queue" }, [event("assigned")], null), []);
});

Deno.test("load: a ticket counts for its assignee until resolved or closed, and again when reopened", () => {
  const ticket = { ...session, kind: "ticket" };
  const status = (from: string, to: string) => event("status_changed", { from, to });
  const claimed = [event("assigned", { agent: "ana", previous: null }), status("new", "assigned")];
  assertEquals(loadChanges(ticket, claimed, row("ana")), [{ agent: "ana", chats: 0, tickets: 1 }]);
  const moved = event("transferred", { from: { agent: "ana", team: null }, to: { agent: "bo" } });
  assertEquals(loadChanges(ticket, [moved], row("bo")), [
    { agent: "ana", chats: 0, tickets: -1 },
    { agent: "bo", chats: 0, tickets: 1 },
  ]);
  const toTeam = event("transferred", { from: { agent: "bo", team: null }, to: { team: "eu" } });
  assertEquals(loadChanges(ticket, [toTeam], row(null)), [{ agent: "bo", chats: 0, tickets: -1 }]);
  assertEquals(loadChanges(ticket, [status("in_progress", "resolved")], row("bo")), [
    { agent: "bo", chats: 0, tickets: -1 },
  ]);
  assertEquals(loadChanges(ticket, [status("resolved", "closed")], row("bo")), []);
  assertEquals(loadChanges(ticket, [status("closed", "in_progress")], row("bo")), [
    { agent: "bo", chats: 0, tickets: 1 },
  ]);
  assertEquals(loadChanges(ticket, [event("unassigned", { agent: "bo" })], row(null)), [
    { agent: "bo", chats: 0, tickets: -1 },
  ]);
});

Deno.test("load: two nodes' counts add up on every replica, each under its own key", async () => {
  const bus = new InProcessBus();
  const log = createLogger({ test: true }, () => {});
  const transports = [0, 1, 2].map(() => bus.connect({ logger: log }));
  const states = transports.map((transport, i) =>
    createSharedState({ transport, prefix: "lt", replica: `p${i}`, watchAll: true })
  );
  try {
    for (const shared of states) shared.start();
    const [one, two] = [new LoadFeed(states[0], "n1"), new LoadFeed(states[1], "n2")];
    one.committed(session, [event("assigned", { agent: "ana", previous: null })], null);
    two.committed(
      { ...session, id: "c2" },
      [event("assigned", { agent: "ana", previous: null })],
      null,
    );
    two.committed(session, [event("closed")], row("ana"));
    for (let i = 0; i < 200 && loadOf(states[2], "acme").get("ana")?.chats !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assertEquals(loadOf(states[2], "acme").get("ana"), { chats: 1, tickets: 0 });
    assertEquals(states[2].load.get("acme").value.size, 2);
  } finally {
    await Promise.all(states.map((shared) => shared.close()));
    await Promise.all(transports.map((transport) => transport.close()));
  }
});
