// Live chat across real processes: 3 nodes and 2 edges on loopback, the real
// NATS and Postgres; sockets drop, edges and nodes are killed mid-conversation.
import { assert, assertEquals } from "@std/assert";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { Ring } from "../cluster/placement/ring.ts";
import { call } from "./_support/api_server.ts";
import { type TestCluster, WIDGET_KEY, widgetCluster } from "./_support/cluster.ts";
import { type Frame, WsClient } from "./_support/ws_client.ts";

const widgetKey = WIDGET_KEY;

async function bootstrap(
  url: string,
  visitorId: string,
): Promise<{ token: string; conversation: string }> {
  const response = await call(`${url}/v1/widget/sessions`, null, "POST", { widgetKey, visitorId });
  assertEquals(response.status, 201, JSON.stringify(response.body));
  return {
    token: response.body.token as string,
    conversation: response.body.conversationId as string,
  };
}

/** An agent online on an edge, announced to every edge before a visitor arrives. */
async function agentOnline(
  cluster: TestCluster,
  edge: string,
  sub: string,
  binary = false,
): Promise<WsClient> {
  const agent = await WsClient.hello(
    cluster.get(edge).url,
    await cluster.token(sub),
    undefined,
    binary,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  return agent;
}

Deno.test("visitor on edge 1 and agent on edge 2 exchange 200 messages each way: each seen once, in order", async () => {
  const cluster = await widgetCluster();
  try {
    const agent = await agentOnline(cluster, "e2", "alice", true);
    const { token, conversation } = await bootstrap(cluster.get("e1").url, "vera");
    const visitor = await WsClient.hello(cluster.get("e1").url, token, { [conversation]: 0 });
    const claimed = await agent.ask({ t: "claim", id: "claim", conversation });
    assertEquals(claimed.t, "ack", JSON.stringify(claimed));

    const fromVisitor = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const fromAgent = Array.from({ length: 200 }, (_, i) => `a${i}`);
    const send = async (client: WsClient, bodies: string[]) => {
      for (let i = 0; i < bodies.length; i += 20) {
        const acks = await Promise.all(
          bodies.slice(i, i + 20).map((body) =>
            client.ask({ t: "send", id: body, conversation, body })
          ),
        );
        for (const ack of acks) assertEquals(ack.t, "ack", JSON.stringify(ack));
      }
    };
    await Promise.all([send(visitor, fromVisitor), send(agent, fromAgent)]);
    for (const client of [visitor, agent]) {
      await client.next((f) => f.t === "msg" && f.body === "v199", 10_000);
      await client.next((f) => f.t === "msg" && f.body === "a199", 10_000);
      const messages = client.messages(conversation);
      assertEquals(messages.map((m) => m.seq), messages.map((_, i) => i + 1));
      for (const body of [...fromVisitor, ...fromAgent]) {
        assertEquals(messages.filter((m) => m.body === body).length, 1, `${body} exactly once`);
      }
      const order = (prefix: string) =>
        messages.map((m) => String(m.body)).filter((b) => new RegExp(`^${prefix}\\d+$`).test(b));
      assertEquals(order("v"), fromVisitor);
      assertEquals(order("a"), fromAgent);
    }
    await visitor.close();
    await agent.close();
  } finally {
    await cluster.close();
  }
});

for (const failure of ["the socket drops", "its edge is killed"] as const) {
  Deno.test(`chat resume: ${failure} mid-stream; on the other edge nothing is missing or doubled`, async () => {
    const cluster = await widgetCluster();
    try {
      const agent = await agentOnline(cluster, "e2", "alice");
      const { token, conversation } = await bootstrap(cluster.get("e1").url, "rita");
      await agent.ask({ t: "claim", id: "claim", conversation });
      const first = await WsClient.hello(cluster.get("e1").url, token, { [conversation]: 0 });
      const bodies = Array.from({ length: 60 }, (_, i) => `m${i}`);
      const sending = (async () => {
        for (const body of bodies) {
          const ack = await agent.ask({ t: "send", id: body, conversation, body });
          assertEquals(ack.t, "ack");
        }
      })();
      await first.next((f) => f.t === "msg" && f.body === "m20", 10_000);
      if (failure === "the socket drops") await first.close();
      else await cluster.kill("e1");
      const seen = first.messages(conversation);
      const last = seen.at(-1)!.seq as number;

      const second = await WsClient.hello(cluster.get("e2").url, token, { [conversation]: last });
      await sending;
      await second.next((f) => f.t === "msg" && f.body === "m59", 10_000);
      const all = [...seen, ...second.messages(conversation)];
      assertEquals(all.map((m) => m.seq), all.map((_, i) => i + 1), "gap-free and no duplicates");
      assertEquals(all.map((m) => String(m.body)).filter((b) => /^m\d+$/.test(b)), bodies);
      await second.close();
      await agent.close();
    } finally {
      await cluster.close();
    }
  });
}

Deno.test("kill -9 the conversation's node mid-conversation: every ack is delivered, nothing silently lost", async () => {
  const cluster = await widgetCluster();
  try {
    const agent = await agentOnline(cluster, "e2", "alice");
    const { token, conversation } = await bootstrap(cluster.get("e1").url, "kim");
    const owner = new Ring(["n1", "n2", "n3"]).owner(`session/acme/${conversation}`);
    const visitor = await WsClient.hello(cluster.get("e1").url, token, { [conversation]: 0 });
    await agent.ask({ t: "claim", id: "claim", conversation });

    const acked: string[] = [];
    const refused: Frame[] = [];
    const sending = (async () => {
      for (let i = 0; i < 150; i++) {
        const body = `k${i}`;
        const answer = await visitor.ask({ t: "send", id: body, conversation, body }, 15_000);
        if (answer.t === "ack") acked.push(body);
        else refused.push(answer);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await agent.next((f) => f.t === "msg" && f.body === "k30", 10_000);
    await cluster.kill(owner);
    await sending;

    for (const error of refused) {
      assert(error.retryAfterMs !== undefined, `retryable: ${JSON.stringify(error)}`);
    }
    assert(acked.length > 100, `${acked.length} acknowledged`);
    for (const client of [agent, visitor]) {
      await client.next((f) => f.t === "msg" && f.body === acked.at(-1), 10_000);
      const messages = client.messages(conversation);
      assertEquals(messages.map((m) => m.seq), messages.map((_, i) => i + 1));
      const delivered = new Set(messages.map((m) => String(m.body)));
      for (const body of acked) assert(delivered.has(body), `acknowledged ${body} not delivered`);
    }
    await visitor.close();
    await agent.close();
  } finally {
    await cluster.close();
  }
});

Deno.test("100 agents claim the same waiting conversation over two edges: exactly one wins", async () => {
  const cluster = await widgetCluster();
  try {
    const agents = await Promise.all(
      Array.from(
        { length: 100 },
        async (_, i) =>
          WsClient.hello(cluster.get(i % 2 ? "e1" : "e2").url, await cluster.token(`agent${i}`)),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { conversation } = await bootstrap(cluster.get("e1").url, "walt");
    const answers = await Promise.all(
      agents.map((agent) => agent.ask({ t: "claim", id: "claim", conversation }, 15_000)),
    );
    assertEquals(answers.filter((a) => a.t === "ack").length, 1);
    const losers = answers.filter((a) => a.t === "err");
    assertEquals(losers.length, 99);
    for (const loser of losers) assertEquals(loser.code, "already_claimed");
    await Promise.all(agents.map((agent) => agent.close()));
  } finally {
    await cluster.close();
  }
});

/** Sockets the edge closed as undecodable (1007) or oversized (1009) so far. */
async function protocolCloses(url: string): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  return [...text.matchAll(/^sb_ws_closes_total\{code="(1007|1009)"\} (\d+)$/gm)]
    .reduce((sum, match) => sum + Number(match[2]), 0);
}

Deno.test("fuzzing: random and malformed frames get err or 1007/1009; the edge serves the others", async () => {
  const cluster = await widgetCluster();
  try {
    const url = cluster.get("e1").url;
    const agent = await agentOnline(cluster, "e1", "fuzzer");
    const { token, conversation } = await bootstrap(url, "fuzz");
    const bystander = await WsClient.hello(url, token, { [conversation]: 0 });
    const agentToken = await cluster.token("fuzzer");
    const frame = fc.oneof(
      fc.record({
        t: fc.constantFrom(
          "send",
          "claim",
          "typing",
          "read",
          "status",
          "resume",
          "rate",
          "hello",
          "x",
        ),
        id: fc.oneof(fc.string(), fc.integer()),
        conversation: fc.oneof(fc.string(), fc.constant(conversation)),
        body: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        seq: fc.oneof(fc.integer(), fc.string()),
        score: fc.double(),
      }, { requiredKeys: ["t"] }),
      fc.anything(),
    );
    const payload = fc.oneof(
      frame.map((f) => ({ kind: "json" as const, data: JSON.stringify(f) ?? "null" })),
      frame.map((f) => ({ kind: "msgpack" as const, data: encode(f, { ignoreUndefined: true }) })),
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map((data) => ({
        kind: "bytes" as const,
        data,
      })),
      fc.string().map((data) => ({ kind: "text" as const, data })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(payload, { minLength: 1, maxLength: 8 }), async (payloads) => {
        const closedBefore = await protocolCloses(url);
        const client = await WsClient.hello(url, agentToken);
        for (const { data } of payloads) client.raw(data);
        client.send({ t: "ping", id: "alive?" });
        const outcome = await Promise.race([
          client.next((f) => f.t === "pong" && f.id === "alive?", 5000).then(() => "alive"),
          client.closed.then(({ code }) => code),
        ]);
        if (outcome !== "alive") {
          // A client that keeps sending after the server's close frame may see
          // the TCP connection end instead of the code; the server's own count
          // says what it closed with.
          assertEquals(await protocolCloses(url), closedBefore + 1, `outcome ${outcome}`);
        }
        for (const f of client.frames.filter((f) => f.t === "err")) {
          assertEquals(typeof f.code, "string");
        }
        await client.close();
      }),
      { numRuns: 60 },
    );
    const huge = await WsClient.hello(url, agentToken);
    huge.raw("x".repeat(70_000));
    assertEquals((await huge.closed).code, 1009);

    assertEquals((await agent.ask({ t: "claim", id: "after", conversation })).t, "ack");
    await bystander.next((f) => f.t === "assigned");
    for (const process of cluster.processes.values()) {
      assert(!process.logText().includes("Uncaught"), process.logText());
    }
    await bystander.close();
    await agent.close();
  } finally {
    await cluster.close();
  }
});
