// Routing across real processes: 3 nodes and 2 edges on loopback, the real
// NATS and Postgres. Chats and tickets reach agents without a claim, the
// queue's capacity holds under a storm, and a killed queue owner loses and
// doubles nothing.
import { assert, assertEquals, assertObjectMatch } from "@std/assert";
import postgres from "postgres";
import { Ring } from "../cluster/placement/ring.ts";
import { call } from "./_support/api_server.ts";
import { TestCluster } from "./_support/cluster.ts";
import { type Frame, WsClient } from "./_support/ws_client.ts";

const widgetKey = "widget-key-0123456789";
const nodes = ["n1", "n2", "n3"];

async function routingCluster(routing: Record<string, unknown> = {}): Promise<TestCluster> {
  const cluster = new TestCluster();
  await cluster.start(...nodes, "e1", "e2");
  const admin = await cluster.token("root", "admin");
  const settings = await call(`${cluster.get("e1").url}/v1/admin/settings`, admin, "POST", {
    widget: { key: widgetKey },
    routing,
  });
  assertEquals(settings.status, 200, JSON.stringify(settings.body));
  return cluster;
}

async function bootstrap(url: string, visitorId?: string) {
  const response = await call(`${url}/v1/widget/sessions`, null, "POST", {
    widgetKey,
    ...(visitorId && { visitorId }),
  });
  assertEquals(response.status, 201, JSON.stringify(response.body));
  return {
    token: response.body.token as string,
    conversation: response.body.conversationId as string,
  };
}

async function agent(cluster: TestCluster, edge: string, sub: string, capacity: number) {
  const client = await WsClient.hello(cluster.get(edge).url, await cluster.token(sub));
  client.send({ t: "status", status: "online", capacity });
  return client;
}

/** What `find` answers once it answers anything, polling. */
async function eventually<T>(find: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing found within ${timeoutMs} ms`);
}

/** The events of every actor of a kind, in each actor's order. */
async function eventLog(cluster: TestCluster, kind: string) {
  const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql.unsafe(
      `select actor_key, seq, type, data, at from ${cluster.schema}.events
       where actor_key like $1 order by actor_key, seq`,
      [`${kind}/acme/%`],
    );
    return rows.map((row) => ({
      actor: String(row.actor_key).split("/")[2],
      type: String(row.type),
      data: row.data as Record<string, unknown>,
      at: Number(row.at),
    }));
  } finally {
    await sql.end();
  }
}

Deno.test("a chat and a ticket reach an online agent with room, without a claim, and say why", async () => {
  const cluster = await routingCluster();
  try {
    const alice = await agent(cluster, "e2", "alice", 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { conversation } = await bootstrap(cluster.get("e1").url);
    const assigned = await alice.next((f) => f.t === "assigned" && f.conversation === conversation);
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
  } finally {
    await cluster.close();
  }
});
