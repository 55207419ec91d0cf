// An in-process API server over the real runtime and a fresh Postgres
// schema: the HTTP handler, a LocalBackend and a node runtime, on a free port.
import type { Config } from "../../cluster/process/config.ts";
import { LocalBackend } from "../../cluster/process/local_backend.ts";
import { createLogger } from "../../cluster/telemetry/log.ts";
import { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";
import { type NodeRuntime, startNodeRuntime } from "../../cluster/process/node_runtime.ts";
import { signToken } from "../../edge/auth/auth.ts";
import { createSharedState } from "../../cluster/process/shared_state.ts";
import { createEdge } from "../../edge/edge.ts";
import type { Transport } from "../../cluster/transport/transport.ts";
import { InProcessBus } from "../../cluster/transport/in_process_transport.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./services.ts";

export interface ApiServer {
  url: string;
  runtime: NodeRuntime;
  token(
    claims: { sub: string; role?: "visitor" | "agent" | "supervisor" | "admin"; tenant?: string },
    ttl?: number,
  ): Promise<string>;
  close(): Promise<void>;
}

export const JWT_SECRET = "test-secret-0123456789abcdef0123456789";

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    role: "standalone",
    databaseUrl: DATABASE_URL,
    dataDir: "./data",
    httpPort: 0,
    jwtSecret: JWT_SECRET,
    nodeId: uniqueName("node"),
    cluster: uniqueName("sbt"),
    dbSchema: uniqueName("sb_test"),
    tenantRatePerSecond: 100_000,
    callerRatePerSecond: 100_000,
    bootstrapRatePerSecond: 1000,
    connectionRatePerSecond: 10_000,
    idempotencyHours: 24,
    ...overrides,
  };
}

export interface ApiServerOptions {
  heartbeatMs?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
  headCheckMs?: number;
  maxWatchesPerSocket?: number;
  maxPendingPerAddress?: number;
  config?: Partial<Config>;
  /** The edge's view of the bus, e.g. one that loses some pushes. */
  edgeBus?: (bus: Transport) => Transport;
}

export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const config = testConfig(options.config);
  const metrics = new MetricsRegistry();
  const log = createLogger({ test: true }, () => {});
  const bus = new InProcessBus().connect({ logger: log });
  const shared = createSharedState({
    transport: bus,
    prefix: config.cluster,
    replica: config.nodeId,
    watchAll: true,
  });
  const runtime = await startNodeRuntime({ config, metrics, log, bus, shared });
  runtime.startDelivery();
  shared.start();
  const edge = createEdge({
    config,
    backend: new LocalBackend(runtime.host, runtime.store, config.nodeId, runtime.plugins),
    bus: options.edgeBus?.(bus) ?? bus,
    shared,
    jwtSecret: JWT_SECRET,
    metrics,
    log,
    heartbeatMs: options.heartbeatMs,
    maxBufferedBytes: options.maxBufferedBytes,
    stallMs: options.stallMs,
    headCheckMs: options.headCheckMs,
    maxWatchesPerSocket: options.maxWatchesPerSocket,
    maxPendingPerAddress: options.maxPendingPerAddress,
  });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, edge.handler);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    runtime,
    token: ({ sub, role = "agent", tenant = "acme" }, ttl = 600) =>
      signToken(JWT_SECRET, { sub, role, tenant }, ttl),
    async close() {
      await edge.close();
      await server.shutdown();
      shared.close();
      await bus.close();
      await runtime.close();
      await dropSchema(config.dbSchema);
    },
  };
}

/** `fetch` JSON with a bearer token; returns status and parsed body. */
export async function call(
  url: string,
  token: string | null,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { "content-type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : {} };
}
