// The routing cluster of the routing tests and bench: 3 nodes and 2 edges on
// loopback with the real NATS and Postgres, and the storm of the routing
// issue (agents who close what they are given, a burst of chats), reported
// as counts so a test can assert them and the bench can print them.
import postgres from "postgres";
import { Ring } from "../../cluster/placement/ring.ts";
import { call } from "./api_server.ts";
import { TestCluster } from "./cluster.ts";
import { WsClient } from "./ws_client.ts";

/** The demo widget key every routing cluster's tenant gets. */
export const widgetKey = "widget-key-0123456789";
/** The node ids of a routing cluster. */
export const nodes = ["n1", "n2", "n3"];

/** A started cluster of 3 nodes and 2 edges whose tenant has these settings. */
export async function routingCluster(
  routing: Record<string, unknown> = {},
  widget: Record<string, unknown> = {},
): Promise<TestCluster> {
  const cluster = new TestCluster();
  await cluster.start(...nodes, "e1", "e2");
  const admin = await cluster.token("root", "admin");
  const settings = await call(`${cluster.get("e1").url}/v1/admin/settings`, admin, "POST", {
    widget: { key: widgetKey, ...widget },
    routing,
  });
  if (settings.status !== 200) {
    throw new Error(`settings refused: ${JSON.stringify(settings.body)}`);
  }
  return cluster;
}

/** An agent's socket, online with a chat capacity. */
export async function agent(
  cluster: TestCluster,
  edge: string,
  sub: string,
  capacity: number,
  profile: { skills?: string[]; languages?: string[] } = {},
) {
  const client = await WsClient.hello(cluster.get(edge).url, await cluster.token(sub));
  client.send({ t: "status", status: "online", capacity, ...profile });
  return client;
}

/** What `find` answers once it answers anything, polling. */
export async function eventually<T>(
  find: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await find();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing found within ${timeoutMs} ms`);
}

/** The events of every actor of a kind, in each actor's order. */
export async function eventLog(cluster: TestCluster, kind: string) {
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

/**
 * An agent who closes each chat it is given after a random moment, retrying
 * through failovers. Pushes are best effort (a node killed between its
 * commit and its publish never sends one), so like a console it also looks
 * up what is assigned to it now and then.
 */
function closingAgent(
  client: WsClient,
  sub: string,
  list: () => Promise<string[]>,
): { stop: () => void } {
  let seen = 0;
  let stopped = false;
  const handled = new Set<string>();
  const closeLater = async (conversation: string) => {
    if (handled.has(conversation)) return;
    handled.add(conversation);
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 200));
    for (let attempt = 0; !stopped; attempt++) {
      const id = `close-${conversation}-${attempt}`;
      const answer = await client.ask({ t: "close", id, conversation }).catch(() => null);
      if (answer?.t === "ack" || answer?.code === "conversation_closed") return;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  };
  const poll = setInterval(() => {
    for (; seen < client.frames.length; seen++) {
      const frame = client.frames[seen];
      if (frame.t === "assigned" && frame.agent === sub) closeLater(frame.conversation as string);
    }
  }, 20);
  const lookup = setInterval(() => {
    list().then((ids) => ids.forEach(closeLater), () => {});
  }, 3_000);
  return {
    stop() {
      stopped = true;
      clearInterval(poll);
      clearInterval(lookup);
    },
  };
}

/** Bootstraps, retrying what a failover refused; a lost answer may leave an extra chat, which is fine. */
async function burst(cluster: TestCluster, count: number, onProgress: (done: number) => void) {
  let done = 0;
  const one = async (i: number) => {
    const edge = cluster.get(i % 2 === 0 ? "e1" : "e2").url;
    // A retry budget in time, not attempts: a loaded machine stretches the failover window.
    const giveUpAt = Date.now() + 30_000;
    let last: string | number = "no answer";
    while (Date.now() < giveUpAt) {
      const response = await call(`${edge}/v1/widget/sessions`, null, "POST", { widgetKey })
        .catch((error) => ({ status: String(error), body: {} }));
      if (response.status === 201) return onProgress(++done);
      last = response.status;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`a chat could not be opened within 30 s (last: ${last})`);
  };
  for (let i = 0; i < count; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => one(i + j)));
  }
}

/**
 * The queue's own order of events is the truth of who held what: fold it,
 * counting assignments beyond an agent's capacity by the queue's doing
 * and items assigned while someone held them.
 */
function foldQueueLog(log: { type: string; data: Record<string, unknown> }[], capacity: number) {
  const holder = new Map<string, string>();
  const held = new Map<string, number>();
  const key = (item: unknown) => {
    const { kind, id } = item as { kind: string; id: string };
    return `${kind}:${id}`;
  };
  const release = (item: string) => {
    const agent = holder.get(item);
    if (agent === undefined) return;
    holder.delete(item);
    held.set(agent, held.get(agent)! - 1);
  };
  let assignments = 0;
  let assignedWhileHeld = 0;
  let overCapacity = 0;
  for (const { type, data } of log) {
    if (type === "assigned") {
      const item = key(data.item);
      if (holder.has(item)) assignedWhileHeld++;
      const agent = data.agent as string;
      const load = (held.get(agent) ?? 0) + 1;
      if (load > capacity) overCapacity++;
      held.set(agent, load);
      holder.set(item, agent);
      assignments++;
    } else if (type === "left") {
      release(key(data.item));
      if (data.agent) {
        holder.set(key(data.item), data.agent as string);
        held.set(data.agent as string, (held.get(data.agent as string) ?? 0) + 1);
      }
    } else if (type === "requeued") release(key(data.item));
    else if (type === "released") {
      for (const item of data.items as unknown[]) release(key(item));
    }
  }
  return { assignments, assignedWhileHeld, overCapacity };
}

/** What a storm did, from the sessions' and the queue's own logs. */
export interface StormReport {
  /** Chats opened (a lost bootstrap answer may open an extra one). */
  chats: number;
  /** Assignments the queue made. */
  assignments: number;
  /** From the first arrival to the last assignment, by the queue's clock. */
  assignmentsPerSecond: number;
  /** Assignments beyond the agent's capacity (must be 0). */
  overCapacity: number;
  /** Items assigned while someone held them (must be 0). */
  assignedWhileHeld: number;
  /** Chats whose session took other than exactly one assignment (must be 0). */
  notAssignedOnce: number;
  /** Chats assigned other than by the queue, or not closed by their agent (must be 0). */
  notRoutedAndClosed: number;
}

/** Options of {@linkcode runStorm}. */
export interface StormOptions {
  chats: number;
  agents?: number;
  capacity?: number;
  /** kill -9 the queue's node a third of the way through the burst. */
  killQueueOwner?: boolean;
}

/**
 * The routing issue's storm: agents online on both edges, a burst of chats,
 * agents closing what they are given after a random moment; done when every
 * chat opened was closed by its agent.
 */
export async function runStorm(
  { chats, agents: agentCount = 50, capacity = 3, killQueueOwner = false }: StormOptions,
): Promise<StormReport> {
  const cluster = await routingCluster();
  const agents: { client: WsClient; stop: () => void }[] = [];
  try {
    for (let i = 0; i < agentCount; i++) {
      const sub = `agent${i}`;
      const edge = cluster.get(i % 2 === 0 ? "e1" : "e2").url;
      const client = await agent(cluster, i % 2 === 0 ? "e1" : "e2", sub, capacity);
      const token = await cluster.token(sub);
      const list = async () => {
        const query = `assignee=${sub}&status=assigned&limit=200`;
        const page = await call(`${edge}/v1/conversations?${query}`, token, "GET");
        return ((page.body.items ?? []) as { id: string }[]).map((doc) => doc.id);
      };
      agents.push({ client, ...closingAgent(client, sub, list) });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const owner = new Ring(nodes).owner("queue/acme/main");
    let killed: Promise<void> | undefined;
    await burst(cluster, chats, (done) => {
      if (killQueueOwner && !killed && done === Math.floor(chats / 3)) {
        killed = cluster.kill(owner);
      }
    });
    await killed;
    // Done when every chat opened has been assigned and closed by its agent.
    const sessions = await eventually(async () => {
      const log = await eventLog(cluster, "session");
      const opened = new Set(log.filter((e) => e.type === "opened").map((e) => e.actor));
      const closed = new Set(log.filter((e) => e.type === "closed").map((e) => e.actor));
      return opened.size >= chats && [...opened].every((id) => closed.has(id)) ? log : undefined;
    }, 60_000).catch(async () => {
      // Say which chats are stuck and where, not just that time ran out.
      const log = await eventLog(cluster, "session");
      const closed = new Set(log.filter((e) => e.type === "closed").map((e) => e.actor));
      const stuck = new Map<string, string[]>();
      for (const e of log.filter((e) => !closed.has(e.actor))) {
        stuck.set(e.actor, [...(stuck.get(e.actor) ?? []), e.type]);
      }
      throw new Error(
        `${stuck.size} chats never closed: ${JSON.stringify([...stuck].slice(0, 5))}`,
      );
    });
    const opened = sessions.filter((e) => e.type === "opened").map((e) => e.actor);
    let notAssignedOnce = 0;
    let notRoutedAndClosed = 0;
    for (const id of opened) {
      const events = sessions.filter((e) => e.actor === id);
      const assigned = events.filter((e) => e.type === "assigned");
      if (assigned.length !== 1) notAssignedOnce++;
      const closed = events.find((e) => e.type === "closed");
      if (assigned[0]?.data.via !== "route" || closed?.data.reason !== "agent") {
        notRoutedAndClosed++;
      }
    }
    const queueLog = await eventLog(cluster, "queue");
    const folded = foldQueueLog(queueLog, capacity);
    const first = queueLog.find((e) => e.type === "arrived")?.at ?? 0;
    const last = queueLog.findLast((e) => e.type === "assigned")?.at ?? first;
    return {
      chats: opened.length,
      ...folded,
      assignmentsPerSecond: folded.assignments / Math.max((last - first) / 1000, 0.001),
      notAssignedOnce,
      notRoutedAndClosed,
    };
  } finally {
    for (const { client, stop } of agents) {
      stop();
      await client.close();
    }
    await cluster.close();
  }
}
