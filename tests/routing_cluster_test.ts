// Routing across real processes: 3 nodes and 2 edges on loopback, the real
// NATS and Postgres. Chats and tickets reach agents without a claim, the
// queue's capacity holds under a storm, and a killed queue owner loses and
// doubles nothing.
import { assert, assertEquals, assertMatch, assertObjectMatch } from "@std/assert";
import { Ring } from "../cluster/placement/ring.ts";
import { call } from "./_support/api_server.ts";
import { TestCluster } from "./_support/cluster.ts";
import { type Frame, WsClient } from "./_support/ws_client.ts";
import {
  agent,
  eventLog,
  eventually,
  nodes,
  routingCluster,
  runStorm,
  type StormReport,
  widgetKey,
} from "./_support/routing_storm.ts";

/** Run `test` against a fresh routing cluster, closed after it whatever happens. */
async function withCluster(
  test: (cluster: TestCluster) => Promise<void>,
  routing: Record<string, unknown> = {},
  widget: Record<string, unknown> = {},
): Promise<void> {
  const cluster = await routingCluster(routing, widget);
  try {
    await test(cluster);
  } finally {
    await cluster.close();
  }
}

async function bootstrap(url: string, visitorId?: string, extra: Record<string, unknown> = {}) {
  const response = await call(`${url}/v1/widget/sessions`, null, "POST", {
    widgetKey,
    ...(visitorId && { visitorId }),
    ...extra,
  });
  assertEquals(response.status, 201, JSON.stringify(response.body));
  return {
    token: response.body.token as string,
    conversation: response.body.conversationId as string,
    visitorId: response.body.visitorId as string,
  };
}

/** A visitor's new chat, and the visitor's socket following it from the start. */
async function visitorChat(
  cluster: TestCluster,
  edge: string,
  visitorId?: string,
  extra: Record<string, unknown> = {},
) {
  const chat = await bootstrap(cluster.get(edge).url, visitorId, extra);
  const client = await WsClient.hello(cluster.get(edge).url, chat.token, {
    [chat.conversation]: 0,
  });
  return { ...chat, client };
}

const assignedFrame = (conversation: string) => (f: Frame) =>
  f.t === "assigned" && f.conversation === conversation;

/** The explanation the session recorded with its routed assignment, as `GET …/events` shows it. */
async function routedExplanation(cluster: TestCluster, conversation: string) {
  const sue = await cluster.token("sue", "supervisor");
  const url = `${cluster.get("e2").url}/v1/conversations/${conversation}/events`;
  const event = await eventually(async () => {
    const page = await call(url, sue, "GET");
    const items = page.body.items as { type: string; data: Record<string, unknown> }[];
    return items.find((e) => e.type === "assigned");
  });
  assertEquals(event.data.via, "route");
  return event.data.explanation as { router: string; rule: string; reason: string | null };
}

async function closeChat(client: WsClient, conversation: string) {
  const closed = await client.ask({ t: "close", id: `close-${conversation}`, conversation });
  assertEquals(closed.t, "ack", JSON.stringify(closed));
}

Deno.test("a chat and a ticket reach an online agent with room, without a claim, and say why", async () => {
  await withCluster(async (cluster) => {
    const alice = await agent(cluster, "e2", "alice", 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { conversation } = await bootstrap(cluster.get("e1").url);
    const assigned = await alice.next(assignedFrame(conversation), 10_000);
    assertEquals(assigned.agent, "alice");
    const log = await eventLog(cluster, "session");
    const event = log.find((e) => e.actor === conversation && e.type === "assigned");
    assertObjectMatch(event?.data ?? {}, {
      agent: "alice",
      via: "route",
      explanation: { router: "least-loaded", version: "builtin" },
    });

    const sue = await cluster.token("sue", "supervisor");
    const created = await call(`${cluster.get("e2").url}/v1/tickets`, sue, "POST", {
      subject: "Printer on fire",
      body: "It is on fire.",
    });
    assertEquals(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const history = await eventually(async () => {
      const page = await call(`${cluster.get("e1").url}/v1/tickets/${id}/events`, sue, "GET");
      const items = page.body.items as { type: string; data: Record<string, unknown> }[];
      return items.find((e) => e.type === "assigned");
    });
    assertObjectMatch(history.data, {
      agent: "alice",
      via: "route",
      explanation: { router: "least-loaded", candidates: [{ id: "alice", score: 1 }] },
    });
    await alice.close();
  });
});

// The failover storm is smaller by default, to keep the suite's time on a
// 2-core machine; SB_STORM_CHATS sets both.
const stormChats = Number(Deno.env.get("SB_STORM_CHATS") ?? 1000);
const failoverChats = Number(Deno.env.get("SB_STORM_CHATS") ?? 400);

function assertCleanStorm(report: StormReport) {
  assertObjectMatch(report, {
    overCapacity: 0,
    assignedWhileHeld: 0,
    notAssignedOnce: 0,
    notRoutedAndClosed: 0,
  });
  assertEquals(report.assignments, report.chats, "the queue assigned each chat once");
}

Deno.test(`storm: ${stormChats} chats to 50 agents of capacity 3 on two edges: each assigned once, never over capacity, freed slots refilled`, async () => {
  assertCleanStorm(await runStorm({ chats: stormChats }));
});

Deno.test(`storm: ${failoverChats} chats, kill -9 the queue's node midway: nothing assigned twice or lost`, async () => {
  assertCleanStorm(await runStorm({ chats: failoverChats, killQueueOwner: true }));
});

/** The queue's events of one item, by type, in order. */
async function queueEventsOf(cluster: TestCluster, id: string): Promise<[string, unknown][]> {
  const log = await eventLog(cluster, "queue");
  return log
    .filter((e) =>
      (e.data.item as { id?: string } | undefined)?.id === id || e.type === "agent_away"
    )
    .map((e) => [e.type, e.data.agent]);
}

/** Alice and Bob online with room for one chat, and a chat offered to one of them. */
async function firstOffer(cluster: TestCluster) {
  const alice = await agent(cluster, "e1", "alice", 1);
  const bob = await agent(cluster, "e2", "bob", 1);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const { conversation } = await bootstrap(cluster.get("e1").url);
  const isOffer = (f: Frame) => f.t === "offer" && f.conversation === conversation;
  const first = await Promise.race([alice.next(isOffer), bob.next(isOffer)]);
  const [offered, other] = alice.frames.includes(first) ? [alice, bob] : [bob, alice];
  return { alice, bob, conversation, isOffer, first, offered, other };
}

Deno.test("offers: a decline goes to the next agent; silence goes on and sets the silent one away", async () => {
  await withCluster(async (cluster) => {
    const { alice, bob, conversation, isOffer, first, offered, other } = await firstOffer(cluster);
    const [declining, silent] = [offered, other];
    assert(typeof first.deadline === "number" && first.deadline > Date.now() - 5_000);
    const declined = await declining.ask({ t: "decline", id: "no", conversation });
    assertEquals(declined.t, "ack", JSON.stringify(declined));
    await silent.next(isOffer);
    const silentSub = silent === alice ? "alice" : "bob";
    const declinerSub = silent === alice ? "bob" : "alice";
    const log = await eventually(async () => {
      const events = await queueEventsOf(cluster, conversation);
      return events.some(([type]) => type === "agent_away") ? events : undefined;
    });
    assertEquals(log, [
      ["arrived", undefined],
      ["offered", declinerSub],
      ["declined", declinerSub],
      ["offered", silentSub],
      ["offer_expired", silentSub],
      ["agent_away", silentSub],
    ]);
    // Only the one offered may answer; an accept after the deadline is refused.
    const late = await silent.ask({ t: "accept", id: "late", conversation });
    assertEquals(late.code, "no_offer", JSON.stringify(late));

    const carol = await agent(cluster, "e2", "carol", 1);
    const offer = await carol.next(isOffer, 10_000);
    assert(offer.deadline);
    const accepted = await carol.ask({ t: "accept", id: "yes", conversation });
    assertEquals(accepted.t, "ack", JSON.stringify(accepted));
    const assigned = await carol.next((f) => f.t === "assigned" && f.conversation === conversation);
    assertEquals(assigned.agent, "carol");
    for (const client of [alice, bob, carol]) await client.close();
  }, { offerSeconds: 2 });
});

Deno.test("offers: the queue's node is killed mid-offer: the deadline still passes it on", async () => {
  await withCluster(async (cluster) => {
    const { alice, bob, conversation, isOffer, other: next } = await firstOffer(cluster);
    await cluster.kill(new Ring(nodes).owner("queue/acme/main"));
    const offer = await next.next(isOffer, 20_000);
    assert(offer.deadline);
    const accepted = await eventually(async () => {
      const answer = await next.ask({ t: "accept", id: crypto.randomUUID(), conversation });
      return answer.t === "ack" ? answer : undefined;
    });
    assertEquals(accepted.t, "ack");
    await next.next((f) => f.t === "assigned" && f.conversation === conversation, 10_000);
    for (const client of [alice, bob]) await client.close();
  }, { offerSeconds: 3 });
});

Deno.test("queue positions and estimated waits: each waiting visitor sees its place move up as slots free", async () => {
  await withCluster(async (cluster) => {
    // Two chats taken give the queue an assignment rate, and fill alice.
    const alice = await agent(cluster, "e2", "alice", 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const held: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { conversation } = await bootstrap(cluster.get("e1").url);
      await alice.next(assignedFrame(conversation), 10_000);
      held.push(conversation);
    }
    const visitors: Awaited<ReturnType<typeof visitorChat>>[] = [];
    for (let i = 0; i < 4; i++) visitors.push(await visitorChat(cluster, i % 2 ? "e1" : "e2"));
    const places = (client: WsClient, conversation: string) =>
      client.frames.filter((f) => f.t === "queue" && f.conversation === conversation);
    const placed = (conversation: string, position: number, waiting: number) => (f: Frame) =>
      f.t === "queue" && f.conversation === conversation && f.position === position &&
      f.waiting === waiting && typeof f.estimatedWaitMs === "number";
    /** Every visitor still waiting learns its place, 1 to n, with an estimate growing with it. */
    const waitingAre = async (waiting: typeof visitors) => {
      const estimates: number[] = [];
      for (const [i, { client, conversation }] of waiting.entries()) {
        const frame = await client.next(placed(conversation, i + 1, waiting.length), 10_000);
        estimates.push(frame.estimatedWaitMs as number);
      }
      assertEquals(estimates, [...estimates].sort((a, b) => a - b), "estimates grow with place");
    };
    await waitingAre(visitors);
    // Each freed slot takes the head of the line; everyone behind moves up one.
    for (let freed = 0; freed < 2; freed++) {
      await closeChat(alice, held[freed]);
      const next = visitors[freed];
      const assigned = await next.client.next(assignedFrame(next.conversation), 10_000);
      assertEquals(assigned.agent, "alice");
      await alice.next(assignedFrame(next.conversation), 10_000);
      await waitingAre(visitors.slice(freed + 1));
    }
    // What each visitor was told of its place only ever moved forward.
    for (const [i, { client, conversation }] of visitors.entries()) {
      const seen = places(client, conversation).map((f) => f.position as number);
      assertEquals(seen, [...seen].sort((a, b) => b - a), `visitor ${i} saw ${seen}`);
      assertEquals(seen[0], i + 1, `visitor ${i} saw ${seen}`);
    }
    for (const { client } of [...visitors, { client: alice }]) await client.close();
  });
});

Deno.test("skill relaxation: a chat needing a skill nobody online has waits, then goes to another agent at the tenant's step", async () => {
  await withCluster(async (cluster) => {
    const bob = await agent(cluster, "e2", "bob", 1, { skills: ["support"], languages: ["en"] });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    const { conversation, client } = await visitorChat(cluster, "e1", undefined, {
      topic: "billing",
      language: "de-DE",
    });
    await client.next((f) => f.t === "queue" && f.conversation === conversation, 10_000);
    const assigned = await client.next(assignedFrame(conversation), 15_000);
    const waited = Date.now() - started;
    assertEquals(assigned.agent, "bob");
    await bob.next(assignedFrame(conversation), 5_000);
    assert(waited >= 2_500, `assigned after ${waited} ms, before the step dropping the skill`);
    // Until then the visitor was in line, not given to bob.
    const before = client.frames.slice(0, client.frames.indexOf(assigned));
    assert(before.some((f) => f.t === "queue" && f.position === 1), JSON.stringify(before));
    const explanation = await routedExplanation(cluster, conversation);
    assertMatch(explanation.rule, /relaxed after 2500 ms: skills and language dropped$/);
    // The chat carried what routed it.
    const log = await eventLog(cluster, "queue");
    const arrived = log.find((e) => e.type === "arrived");
    assertObjectMatch(arrived?.data ?? {}, {
      item: { skills: { required: ["billing"], optional: ["vip"] }, language: "de" },
    });
    assertEquals(log.filter((e) => e.type === "relaxed").map((e) => e.data.step), [0, 1]);
    for (const each of [client, bob]) await each.close();
  }, {
    relaxation: [{ afterMs: 1_000, drop: "optional" }, { afterMs: 2_500, drop: "required" }],
  }, {
    topics: { billing: { skills: ["billing"], optionalSkills: ["vip"] } },
    languages: ["de", "en"],
  });
});

Deno.test("sticky: a returning visitor goes back to its agent though another has less load; with that agent gone, to another", async () => {
  await withCluster(async (cluster) => {
    const alice = await agent(cluster, "e1", "alice", 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const first = await visitorChat(cluster, "e2");
    await alice.next(assignedFrame(first.conversation), 10_000);
    // Another visitor keeps alice busier than bob, who comes online now.
    const other = await visitorChat(cluster, "e1");
    await alice.next(assignedFrame(other.conversation), 10_000);
    await closeChat(alice, first.conversation);
    await first.client.close();
    const bob = await agent(cluster, "e2", "bob", 3);
    await new Promise((resolve) => setTimeout(resolve, 500));

    // The same anonymous visitor, by the id the server issued it, on the other edge.
    const back = await visitorChat(cluster, "e1", first.visitorId);
    assertEquals(back.visitorId, first.visitorId);
    const assigned = await back.client.next(assignedFrame(back.conversation), 10_000);
    assertEquals(assigned.agent, "alice");
    const sticky = await routedExplanation(cluster, back.conversation);
    assertObjectMatch(sticky, { router: "sticky", reason: "sticky: the previous agent" });
    await closeChat(alice, back.conversation);
    await back.client.close();

    await alice.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const again = await visitorChat(cluster, "e2", first.visitorId);
    const reassigned = await again.client.next(assignedFrame(again.conversation), 10_000);
    assertEquals(reassigned.agent, "bob");
    const fallback = await routedExplanation(cluster, again.conversation);
    assertMatch(fallback.reason ?? "", /^sticky: previous agent alice has no room/);
    for (const client of [again.client, other.client, bob]) await client.close();
  }, { router: "sticky" });
});

Deno.test("an agent whose last socket closes gets no more work; the other agent does", async () => {
  await withCluster(async (cluster) => {
    // Equal load and idle time: least-loaded would pick alice first, by id.
    const alice = await agent(cluster, "e1", "alice", 3);
    const aliceAgain = await WsClient.hello(cluster.get("e2").url, await cluster.token("alice"));
    const bob = await agent(cluster, "e2", "bob", 3);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await alice.close();
    await aliceAgain.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { conversation } = await bootstrap(cluster.get("e1").url);
    const assigned = await bob.next((f) => f.t === "assigned" && f.conversation === conversation);
    assertEquals(assigned.agent, "bob");
    const gone = (await eventLog(cluster, "queue")).filter((e) => e.type === "agent_gone");
    assertEquals(gone.map((e) => e.data.agent), ["alice"]);
    await bob.close();
  });
});

/**
 * 20 tickets into a queue of 5 with nobody online, then two agents with room
 * for 10 tickets each; with `failover`, the queue's node is killed between.
 */
function backlogScenario(failover: boolean): Promise<void> {
  return withCluster(async (cluster) => {
    const sue = await cluster.token("sue", "supervisor");
    const created: string[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await call(`${cluster.get("e1").url}/v1/tickets`, sue, "POST", {
        subject: `Ticket ${i}`,
        body: "Waiting for someone.",
      });
      assertEquals(response.status, 201, JSON.stringify(response.body));
      created.push(response.body.id as string);
    }
    const queueLog = () => eventLog(cluster, "queue");
    const settled = await eventually(async () => {
      const log = await queueLog();
      const seen = log.filter((e) => e.type === "arrived" || e.type === "backlogged");
      return seen.length === 20 ? log : undefined;
    });
    const arrivedIds = (log: typeof settled) =>
      log.filter((e) => e.type === "arrived").map((e) => (e.data.item as { id: string }).id);
    assertEquals(arrivedIds(settled).sort(), created.slice(0, 5).sort());
    assertEquals(settled.filter((e) => e.type === "backlogged").length, 15);
    assertEquals(await deadLetters(cluster), []);
    // The backlog is in the queue's state: its next owner brings the tickets back.
    if (failover) await cluster.kill(new Ring(nodes).owner("queue/acme/main"));

    const agents = [await agent(cluster, "e1", "alice", 1), await agent(cluster, "e2", "bob", 1)];
    try {
      const assigned = await eventually(async () => {
        const log = (await eventLog(cluster, "ticket")).filter((e) => e.type === "assigned");
        return log.length >= 20 ? log : undefined;
      }, 30_000);
      // Each ticket assigned exactly once, each agent within its 10 tickets.
      assertEquals(assigned.map((e) => e.actor).sort(), [...created].sort());
      for (const sub of ["alice", "bob"]) {
        assert(assigned.filter((e) => e.data.agent === sub).length <= 10, sub);
      }
      const log = await queueLog();
      // Brought back oldest first: no ticket jumps more than a window ahead of its turn.
      arrivedIds(log).forEach((id, turn) => assert(created.indexOf(id) < turn + 5, id));
      assertEquals(new Set(arrivedIds(log)).size, 20);
      assert(log.some((e) => e.type === "backlog_drained"), "the backlog was drained");
      assert(await backlogReturned(cluster) >= 15);
      assertEquals(await deadLetters(cluster), []);
    } finally {
      for (const client of agents) await client.close();
    }
  }, { maxWaiting: 5 });
}

Deno.test("backlog: tickets past maxWaiting wait in the store, none dead-lettered, and all are routed once agents free up", () =>
  backlogScenario(false));

Deno.test("backlog: the queue's node is killed with tickets backlogged: its next owner routes them all", () =>
  backlogScenario(true));

async function deadLetters(cluster: TestCluster): Promise<unknown[]> {
  const url = `${cluster.get("e2").url}/v1/admin/dead-letters`;
  const response = await call(url, await cluster.opsToken(), "GET");
  assertEquals(response.status, 200, JSON.stringify(response.body));
  return response.body.items as unknown[];
}

/** Backlogged tickets the live nodes sent back to their queue, by their metrics. */
async function backlogReturned(cluster: TestCluster): Promise<number> {
  let total = 0;
  for (const node of nodes.filter((id) => cluster.processes.has(id))) {
    const text = await fetch(`${cluster.get(node).url}/metrics`).then((r) => r.text());
    total += Number(text.match(/^sb_queue_backlog_returned_total (\d+)$/m)?.[1] ?? 0);
  }
  return total;
}
