// What a WebSocket client is told of a retryable runtime failure: a generic
// message, while the store's own error goes to the log only.
import { assert, assertEquals } from "@std/assert";
import { createLogger } from "../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import { InProcessBus } from "../cluster/transport/in_process_transport.ts";
import { signToken } from "../edge/auth/auth.ts";
import { createEdge } from "../edge/edge.ts";
import { testConfig } from "./_support/api_server.ts";
import { ScriptedBackend, secret } from "./_support/scripted_backend.ts";
import { WsClient } from "./_support/ws_client.ts";

Deno.test("ws: a retryable failure's err frame hides the store error, which is logged", async () => {
  const backend = new ScriptedBackend();
  const internal = 'connect ECONNREFUSED 10.1.2.3:5432 relation "sb_x.events"';
  backend.answer = () => ({
    ok: false,
    error: { code: "unavailable", message: internal, retryable: true },
  });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({}, (line) => lines.push(JSON.parse(line)));
  const bus = new InProcessBus().connect({ logger: log });
  const edge = createEdge({
    config: testConfig(),
    backend,
    bus,
    metrics: new MetricsRegistry(),
    log,
    jwtSecret: secret,
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, edge.handler);
  try {
    const token = await signToken(secret, { sub: "alice", tenant: "acme", role: "agent" }, 600);
    const client = await WsClient.hello(`http://127.0.0.1:${server.addr.port}`, token);
    const answer = await client.ask({ t: "claim", id: "c1", conversation: "c-1" });
    assertEquals([answer.t, answer.code, answer.retryAfterMs], ["err", "unavailable", 1000]);
    assert(!String(answer.message).includes("10.1.2.3"), String(answer.message));
    assert(lines.some((line) => line.error === internal), "the cause is logged");
    await client.close();
  } finally {
    await edge.close();
    await server.shutdown();
    await bus.close();
  }
});
