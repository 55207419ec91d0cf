// Switchboard's live path as an AssignmentPath: agents online over
// WebSockets on one edge, chats opened through the widget bootstrap on
// another. An item arrives when its bootstrap is acknowledged and is
// assigned when its agent's socket receives `assigned` for it, the frame
// the console acts on.
import { call } from "../tests/_support/api_server.ts";
import { WsClient } from "../tests/_support/ws_client.ts";
import type { Assignment, AssignmentPath } from "./_assignment_path.ts";
import type { BenchCluster } from "./_process_cluster.ts";

const widgetKey = "bench-routing-widget-key-0123";
const pollMs = 2;
const assignTimeoutMs = 10_000;

/** The queue actor (event-driven) through real edges and nodes. */
export class SwitchboardAssigner implements AssignmentPath {
  readonly name = "Switchboard queue actor (event-driven)";
  #cluster: BenchCluster;
  #arrivalEdge: string;
  #agentEdge: string;
  #agents = new Map<string, WsClient>();
  #conversations = new Map<string, string>();
  #commands = 0;

  /** Chats bootstrap through `arrivalEdge`; agents connect to `agentEdge`. */
  constructor(cluster: BenchCluster, arrivalEdge: string, agentEdge: string) {
    this.#cluster = cluster;
    this.#arrivalEdge = cluster.get(arrivalEdge).url;
    this.#agentEdge = cluster.get(agentEdge).url;
  }

  async setup(agents: number, capacity: number): Promise<void> {
    const admin = await this.#cluster.token("bench-admin", "admin");
    const settings = await call(`${this.#arrivalEdge}/v1/admin/settings`, admin, "POST", {
      widget: { key: widgetKey },
    });
    if (settings.status !== 200) throw new Error(`settings: ${JSON.stringify(settings.body)}`);
    for (let i = 0; i < agents; i++) {
      const sub = `bench-agent-${i}`;
      const client = await WsClient.hello(this.#agentEdge, await this.#cluster.token(sub));
      this.#agents.set(sub, client);
      client.send({ t: "status", status: "online", capacity });
    }
    // The queue learns of the agents through their presence; let it settle.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  async arrive(id: string): Promise<Assignment> {
    const opened = await call(`${this.#arrivalEdge}/v1/widget/sessions`, null, "POST", {
      widgetKey,
    });
    const arrivedAt = performance.now();
    if (opened.status !== 201) throw new Error(`bootstrap: ${JSON.stringify(opened.body)}`);
    const conversation = opened.body.conversationId as string;
    this.#conversations.set(id, conversation);
    const deadline = arrivedAt + assignTimeoutMs;
    while (performance.now() < deadline) {
      const found = this.#assigned(conversation);
      if (found) return { ...found, arrivedAt };
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    throw new Error(`${id} (${conversation}) was not assigned within ${assignTimeoutMs} ms`);
  }

  async release(agent: string, id: string): Promise<void> {
    const conversation = this.#conversations.get(id);
    const client = this.#agents.get(agent);
    if (!conversation || !client) throw new Error(`${agent} does not hold ${id}`);
    const answer = await client.ask({ t: "close", id: `close-${++this.#commands}`, conversation });
    if (answer.t !== "ack") throw new Error(`close of ${id}: ${JSON.stringify(answer)}`);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#agents.values()].map((client) => client.close()));
  }

  // The receipt time of the `assigned` frame for `conversation`, on whichever socket got it.
  #assigned(conversation: string): { agent: string; assignedAt: number } | undefined {
    for (const [agent, client] of this.#agents) {
      const index = client.frames.findIndex((frame) =>
        frame.t === "assigned" && frame.conversation === conversation && frame.agent === agent
      );
      if (index >= 0) return { agent, assignedAt: client.receivedAt[index] };
    }
    return undefined;
  }
}
