/**
 * Switchboard's entry point. `SB_ROLE` picks the process: `standalone`
 * (node and edge in one process, embedded defaults), `node` (hosts actors
 * and serves the API too) or `edge` (serves the API, forwards over NATS).
 * Configuration is environment variables only: see the README.
 *
 * @module
 */
import { joinCluster } from "./cluster/process/cluster_process.ts";
import { type Config, ConfigError, loadConfig } from "./cluster/process/config.ts";
import { InProcessBus } from "./cluster/transport/in_process_transport.ts";
import { LocalBackend } from "./cluster/process/local_backend.ts";
import { createLogger, type Logger } from "./cluster/telemetry/log.ts";
import { MetricsRegistry } from "./cluster/telemetry/metrics.ts";
import { connectNatsTransport } from "./cluster/transport/nats_transport.ts";
import { startNodeRuntime } from "./cluster/process/node_runtime.ts";
import type { Backend } from "./cluster/protocol.ts";
import type { Transport } from "./cluster/transport/transport.ts";
import { createEdge } from "./edge/edge.ts";
import { loadOrCreateSecret } from "./edge/auth/secret.ts";
import { demoTenant, ensureDemoWidget } from "./edge/web/demo_tenant.ts";

const started = performance.now();
let config: Config;
try {
  config = loadConfig();
  if (config.role !== "standalone" && !config.natsUrl) {
    throw new ConfigError(`SB_ROLE=${config.role} needs NATS_URL`);
  }
} catch (error) {
  console.error(`switchboard: ${(error as Error).message}`);
  Deno.exit(2);
}
const log = createLogger({ role: config.role, node: config.nodeId });
const metrics = new MetricsRegistry();

const bus: Transport = config.natsUrl
  ? await connectNatsTransport({ url: config.natsUrl, name: config.nodeId, logger: log })
  : new InProcessBus().connect({ name: config.nodeId, logger: log });
const stops: (() => Promise<void>)[] = [];
let backend: Backend;
if (config.role === "edge") {
  const cluster = await joinCluster({ config, log, metrics, transport: bus });
  stops.push(cluster.stop);
  backend = cluster.backend;
} else {
  const runtime = await startNodeRuntime({ config, metrics, log, bus });
  if (config.role === "node") {
    const cluster = await joinCluster({ config, log, metrics, transport: bus, runtime });
    stops.push(cluster.stop);
    backend = cluster.backend;
  } else {
    runtime.startDelivery();
    stops.push(runtime.close);
    backend = new LocalBackend(runtime.host, runtime.store, config.nodeId);
  }
}
stops.push(() => bus.close());

const secret = await jwtSecret(config, log);
const standalone = config.role === "standalone";
const edge = createEdge({
  config,
  backend,
  bus,
  metrics,
  log,
  jwtSecret: secret,
  web: {
    ...(standalone && { demoWidgetKey: await ensureDemoWidget(backend) }),
    // Only a secret this process made itself: nobody else can sign its tokens.
    ...(standalone && !config.jwtSecret && { devSignIn: { tenant: demoTenant, secret } }),
  },
});
const server = Deno.serve(
  { port: config.httpPort, hostname: "0.0.0.0", onListen: () => {} },
  edge.handler,
);
stops.unshift(async () => {
  await edge.close();
  await server.shutdown();
});
log.info("ready", { port: server.addr.port, ms: Math.round(performance.now() - started) });

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

async function jwtSecret(config: Config, log: Logger): Promise<string> {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.role !== "standalone") {
    console.error(`switchboard: SB_ROLE=${config.role} needs SB_JWT_SECRET`);
    Deno.exit(2);
  }
  const { secret, created } = await loadOrCreateSecret(config.dataDir);
  log.info(created ? "generated a JWT secret" : "using the stored JWT secret", {
    file: `${config.dataDir}/jwt-secret`,
    hint: "deno task token --tenant demo --role agent --sub alice",
  });
  return secret;
}
