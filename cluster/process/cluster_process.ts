/**
 * Joining a cluster: the NATS transport, membership, the router and the
 * backend the HTTP API uses; for a node also the node service that answers
 * for its actors and the drain on shutdown.
 *
 * @module
 */
import { ClusterBackend } from "./cluster_backend.ts";
import type { Config } from "./config.ts";
import type { Logger } from "../telemetry/log.ts";
import { Membership } from "../placement/membership.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import type { NodeRuntime } from "./node_runtime.ts";
import { startNodeService } from "./node_service.ts";
import { ClusterRouter } from "../placement/request_router.ts";
import type { Transport } from "../transport/transport.ts";

/** Options of {@linkcode createClusterMember}. */
export interface JoinOptions {
  config: Config;
  log: Logger;
  metrics: MetricsRegistry;
  /** The connection to NATS. */
  transport: Transport;
  /** The node's runtime; absent for an edge. */
  runtime?: NodeRuntime;
}

/** A process's membership in the cluster, built before it joins. */
export interface ClusterMember {
  backend: ClusterBackend;
  router: ClusterRouter;
  membership: Membership;
  /**
   * Join the view and wait until it is known (DESIGN §4: only after the
   * process has bound its ports and opened its stores); then a node starts
   * firing timers and relaying its outbox, so it never acts on a view that
   * lacks its peers.
   */
  join(): Promise<void>;
  /** Leave the view, then (for a node) finish in-flight work, then stop serving. */
  stop(): Promise<void>;
}

/**
 * Everything a node (with `runtime`) or an edge needs to take part in the
 * cluster; nothing is announced until {@linkcode ClusterMember.join}.
 */
export function createClusterMember(options: JoinOptions): ClusterMember {
  const { config, log, metrics, runtime, transport } = options;
  const membership = new Membership({
    transport,
    cluster: config.cluster,
    id: config.nodeId,
    role: runtime ? "node" : "edge",
  });
  const retries = metrics.counter<"code">({
    name: "sb_redirects_total",
    help: "Requests re-sent after a redirect, a stale owner, a draining or lost node.",
    labelNames: ["code"],
  });
  const router = new ClusterRouter({
    transport,
    membership,
    cluster: config.cluster,
    local: runtime && { id: config.nodeId, dispatch: (request) => runtime.host.dispatch(request) },
    onRetry: (code) => retries.inc({ code }),
  });
  metrics.callbackGauge({
    name: "sb_ring_epoch",
    help: "View changes this process has seen.",
    collect: () => membership.view.epoch,
  });
  membership.onChange((view) => log.info("view changed", { epoch: view.epoch, nodes: view.nodes }));

  const service = runtime && startNodeService({
    id: config.nodeId,
    cluster: config.cluster,
    transport,
    membership,
    router,
    host: runtime.host,
    store: runtime.store,
    plugins: runtime.plugins,
  });

  return {
    backend: new ClusterBackend({ cluster: config.cluster, transport, membership, router }),
    router,
    membership,
    async join() {
      membership.start();
      await membership.ready;
      // Timers fire and outboxes drain where their actor lives; delivery goes
      // through the router, so one caught in a view change still reaches the owner.
      runtime?.startDelivery({
        deliver: (request) => router.request(request),
        isLocal: (key) => router.ownerOf(key) === config.nodeId,
      });
    },
    async stop() {
      await membership.leave();
      if (runtime) await runtime.close();
      service?.close();
      membership.stop();
    },
  };
}
