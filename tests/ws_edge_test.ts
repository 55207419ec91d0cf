// The WebSocket edge over a scripted backend: what clients are told of
// runtime failures, per-caller rate limits on command frames, and the
// tenant feeds a socket follows.
import { assert, assertEquals } from "@std/assert";
import type { Config } from "../cluster/process/config.ts";
import { createLogger } from "../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { type Claims, signToken } from "../edge/auth/auth.ts";
import { createSharedState } from "../cluster/process/shared_state.ts";
import { createEdge } from "../edge/edge.ts";
import { testConfig } from "./_support/api_server.ts";
import { ScriptedBackend, secret } from "./_support/scripted_backend.ts";
import { until } from "./_support/until.ts";
import { WsClient } from "./_support/ws_client.ts";

interface EdgeRig {
  backend: ScriptedBackend;
  lines: Record<string, unknown>[];
  metrics: MetricsRegistry;
  /** Say hello with a token of `claims`, of tenant acme unless they name one. */
  connect(claims: Omit<Claims, "tenant"> & { tenant?: string }): Promise<WsClient>;
}

async function withEdge(config: Partial<Config>, test: (rig: EdgeRig) => Promise<void>) {
  const backend = new ScriptedBackend();
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({}, (line) => lines.push(JSON.parse(line)));
  const bus = new InProcessBus().connect({ logger: log });
  const metrics = new MetricsRegistry();
  const shared = createSharedState({
    transport: bus,
    prefix: "ws",
    replica: "edge",
    watchAll: false,
  });
  shared.start();
  const edge = createEdge({
    config: testConfig(config),
    backend,
    bus,
    shared,
    metrics,
    log,
    jwtSecret: secret,
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, edge.handler);
  const clients: WsClient[] = [];
  try {
    await test({
      backend,
      lines,
      metrics,
      connect: async (claims) => {
        const token = await signToken(secret, { tenant: "acme", ...claims }, 600);
        const client = await WsClient.hello(`http://127.0.0.1:${server.addr.port}`, token);
        clients.push(client);
        return client;
      },
    });
  } finally {
    await Promise.all(clients.map((client) => client.close()));
    await edge.close();
    await server.shutdown();
    shared.close();
    await bus.close();
  }
}

Deno.test("ws: a retryable failure's err frame hides the store error, which is logged", async () => {
  await withEdge({}, async ({ backend, lines, connect }) => {
    const internal = 'connect ECONNREFUSED 10.1.2.3:5432 relation "sb_x.events"';
    backend.answer = () => ({
      ok: false,
      error: { code: "unavailable", message: internal, retryable: true },
    });
    const client = await connect({ sub: "alice", role: "agent" });
    const answer = await client.ask({ t: "claim", id: "c1", conversation: "c-1" });
    assertEquals([answer.t, answer.code, answer.retryAfterMs], ["err", "unavailable", 1000]);
    assert(!String(answer.message).includes("10.1.2.3"), String(answer.message));
    assert(lines.some((line) => line.error === internal), "the cause is logged");
  });
});

Deno.test("ws: a visitor over its own rate is refused while an agent of its tenant is not", async () => {
  // Slow refills: the test's own duration adds no token worth counting.
  await withEdge({ callerRatePerSecond: 0.01 }, async ({ connect }) => {
    const visitor = await connect({ sub: "anon:hammer", role: "visitor" });
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(await visitor.ask({ t: "send", id: `m${i}`, conversation: "c-1", body: "hi" }));
    }
    assertEquals(answers.map((answer) => answer.t), ["ack", "err", "err", "err", "err"]);
    assertEquals(answers[1].code, "rate_limited");
    const agent = await connect({ sub: "alice", role: "agent" });
    assertEquals((await agent.ask({ t: "claim", id: "c1", conversation: "c-1" })).t, "ack");
  });
});

Deno.test("ws: a visitor follows its tenant's feed from its first watch, an agent from its hello", async () => {
  await withEdge({}, async ({ backend, connect }) => {
    // The tenant feed's first read lists the tenant's queued conversations.
    const feedReads = () => backend.listCalls.filter((query) => query.status === "queued").length;
    const visitor = await connect({ sub: "anon:v1", role: "visitor" });
    const ping = async (id: string) => {
      visitor.send({ t: "ping", id });
      await visitor.next((frame) => frame.t === "pong" && frame.id === id);
    };
    await ping("p1");
    assertEquals(feedReads(), 0, "a visitor that watches nothing holds no feed");

    backend.answer = (request) => ({
      ok: true,
      reply: {
        id: request.address.id,
        status: "queued",
        visitor: { id: "anon:v1", verified: false },
      },
      seq: 1,
    });
    visitor.send({ t: "resume", conversations: { "c-1": 0 } });
    await ping("p2");
    assert(feedReads() > 0, "its first watch follows the feed");

    const before = backend.listCalls.length;
    await connect({ sub: "alice", role: "agent" });
    assert(backend.listCalls.length > before, "an agent's hello lists its conversations");
  });
});

Deno.test("ws: a visitor's first command answered after its socket closed follows no feed", async () => {
  await withEdge({}, async ({ backend, metrics, connect }) => {
    // A tenant feed's read lists the tenant's queued conversations, from its first page.
    const feedReads = (tenant: string) =>
      backend.listCalls.filter((query) =>
        query.status === "queued" && query.tenant === tenant && !query.cursor
      ).length;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => answer = resolve);
    backend.answer = async (request) => {
      if (request.op === "command") await answered;
      return { ok: true, reply: { id: request.address.id, seq: 1, publicSeq: 1 }, seq: 1 };
    };
    // Two visitors' first commands in flight; one of them closes its socket.
    const gone = await connect({ sub: "anon:gone", role: "visitor", tenant: "gone" });
    const stays = await connect({ sub: "anon:stays", role: "visitor" });
    gone.send({ t: "send", id: "m1", conversation: "c-gone", body: "hi" });
    stays.send({ t: "send", id: "m1", conversation: "c-stays", body: "hi" });
    await until(() => backend.requests.length === 2);
    await gone.close();
    await until(() => /^sb_ws_closes_total\{code="1000"\} 1$/m.test(metrics.render()));

    answer();
    // Both commands end together: once one is acked, the other has followed what it would.
    assertEquals((await stays.next((frame) => frame.id === "m1")).t, "ack");
    assertEquals(feedReads("acme"), 1, "a live socket's first watch follows its tenant's feed");
    assertEquals(feedReads("gone"), 0, "a closed socket follows none");
  });
});
