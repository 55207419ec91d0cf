/**
 * Switchboard's entry point. `SB_ROLE` picks the process: `standalone`
 * (node and edge in one process, embedded defaults), `node` (hosts actors
 * and serves the API too) or `edge` (serves the API, forwards over NATS).
 * Configuration is environment variables only: see the README.
 *
 * Start order (DESIGN §4): signal handlers, stores, the HTTP port, and only
 * then the cluster's view; a start that fails before that never joins, and
 * exits 1 with one line on stderr.
 *
 * @module
 */
import { createClusterMember } from "./cluster/process/cluster_process.ts";
import { type Config, loadConfig } from "./cluster/process/config.ts";
import { InProcessBus } from "./cluster/transport/in_process_transport.ts";
import { LocalBackend } from "./cluster/process/local_backend.ts";
import { createLogger, type Logger } from "./cluster/telemetry/log.ts";
import { MetricsRegistry } from "./cluster/telemetry/metrics.ts";
import { connectNatsTransport } from "./cluster/transport/nats_transport.ts";
import { startNodeRuntime } from "./cluster/process/node_runtime.ts";
import type { Backend } from "./cluster/protocol.ts";
import type { Transport } from "./cluster/transport/transport.ts";
import { createSharedState } from "./cluster/process/shared_state.ts";
import { RedisSnapshots } from "./cluster/crdt/redis_snapshots.ts";
import { connectRedis } from "./cluster/store/redis.ts";
import { createEdge } from "./edge/edge.ts";
import { loadOrCreateSecret } from "./edge/auth/secret.ts";
import { demoTenant, ensureDemoWidget } from "./edge/web/demo_tenant.ts";

const started = performance.now();
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  console.error(`switchboard: ${(error as Error).message}`);
  Deno.exit(2);
}
const log = createLogger({ role: config.role, node: config.nodeId });
const metrics = new MetricsRegistry();

// What to stop on a signal, last started first; filled in as the start goes.
const stops: (() => Promise<void>)[] = [];
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.addSignalListener(signal, async () => {
    if (stopping) return;
    stopping = true;
    log.info("draining", { signal });
    for (const stop of stops) {
      await stop().catch((error) => log.error("stop failed", { error: String(error) }));
    }
    log.info("stopped");
    Deno.exit(0);
  });
}

try {
  const bus: Transport = config.natsUrl
    ? await connectNatsTransport({ url: config.natsUrl, name: config.nodeId, logger: log })
    : new InProcessBus().connect({ name: config.nodeId, logger: log });
  stops.unshift(() => bus.close());
  // Snapshots let a cold cluster start warm; Redis is optional (standalone).
  const redis = config.redisUrl ? connectRedis(config.redisUrl, { log }) : undefined;
  if (redis) stops.unshift(() => redis.quit().then(() => {}, () => redis.disconnect()));
  const shared = createSharedState({
    transport: bus,
    prefix: config.cluster,
    replica: config.nodeId,
    watchAll: config.role !== "edge",
    snapshots: redis && new RedisSnapshots({ redis, cluster: config.cluster }),
    metrics,
  });
  stops.unshift(() => shared.close());
  const runtime = config.role === "edge"
    ? undefined
    : await startNodeRuntime({ config, metrics, log, bus, shared });
  const member = config.role === "standalone"
    ? undefined
    : createClusterMember({ config, log, metrics, transport: bus, runtime });
  stops.unshift(member?.stop ?? runtime!.close);
  const backend: Backend = member?.backend ??
    new LocalBackend(runtime!.host, runtime!.store, config.nodeId, runtime!.plugins);

  const secret = config.jwtSecret ?? await standaloneSecret(config, log);
  const standalone = config.role === "standalone";
  const edge = createEdge({
    config,
    backend,
    bus,
    shared,
    metrics,
    log,
    jwtSecret: secret,
    web: {
      ...(standalone && { demoWidgetKey: await ensureDemoWidget(backend) }),
      // Only a secret this process made itself: nobody else can sign its tokens.
      ...(standalone && !config.jwtSecret && { devSignIn: { tenant: demoTenant, secret } }),
    },
  });
  let nodes = member?.membership.view.viewId;
  member?.membership.onChange((view) => {
    if (view.viewId !== nodes) edge.checkHeads();
    nodes = view.viewId;
  });
  // Bound now, so a taken port fails the start before the process joins; it
  // answers 503 until the view is known.
  let handler: Deno.ServeHandler = starting;
  const server = Deno.serve(
    { port: config.httpPort, hostname: "0.0.0.0", onListen: () => {} },
    (request, info) => handler(request, info),
  );
  stops.unshift(async () => {
    await edge.close();
    await server.shutdown();
  });

  if (member) await member.join();
  else runtime!.startDelivery();
  shared.start();
  handler = edge.handler;
  log.info("ready", { port: server.addr.port, ms: Math.round(performance.now() - started) });
} catch (error) {
  console.error(`switchboard: cannot start: ${(error as Error).message ?? error}`);
  Deno.exit(1);
}

function starting(): Response {
  return Response.json(
    { error: { code: "unavailable", message: "starting" } },
    { status: 503, headers: { "retry-after": "1" } },
  );
}

async function standaloneSecret(config: Config, log: Logger): Promise<string> {
  const { secret, created } = await loadOrCreateSecret(config.dataDir);
  log.info(created ? "generated a JWT secret" : "using the stored JWT secret", {
    file: `${config.dataDir}/jwt-secret`,
    hint: "./sb token --tenant demo --role agent --sub alice",
  });
  return secret;
}
