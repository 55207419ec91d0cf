/**
 * Everything a process needs to host actors: the event store the
 * configuration names, the group committer, the host, tenant settings and
 * the durable-timer scheduler, with their metrics registered.
 *
 * @module
 */
import { queueDecider } from "../../actors/queue.ts";
import { sessionDecider } from "../../actors/session.ts";
import { ticketDecider } from "../../actors/ticket.ts";
import { PluginHost } from "../../plugins/host/plugin_host.ts";
import type { Config } from "./config.ts";
import type { EventStore } from "../store/event_store.ts";
import { GroupCommitter } from "../store/group_committer.ts";
import { ActorHost } from "../runtime/host.ts";
import { LoadFeed } from "./load_feed.ts";
import type { SharedState } from "./shared_state.ts";
import type { Logger } from "../telemetry/log.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import { openPgliteStore } from "../store/pglite_store.ts";
import { openPostgresStore } from "../store/postgres_store.ts";
import type {
  ActorRequest,
  ActorResponse,
  PluginAdminRequest,
  PluginAdminResponse,
} from "../protocol.ts";
import { TenantDirectory } from "../store/tenant_directory.ts";
import { OutboxRelay } from "../runtime/outbox_relay.ts";
import { IdempotencyPruner } from "../runtime/idempotency_pruner.ts";
import { TimerScheduler } from "../runtime/timer_scheduler.ts";
import { Router } from "../runtime/routing.ts";
import { QueueRouter } from "../runtime/queue_router.ts";
import { QueueBacklog } from "../runtime/queue_backlog.ts";
import { QueuePublisher } from "../runtime/queue_publisher.ts";
import type { Transport } from "../transport/transport.ts";
import { subjects } from "../transport/subjects.ts";
import type { ActorAddress, Projection } from "../../actors/decider.ts";
import type { NewEvent } from "../store/event_store.ts";
import { PluginRegistry } from "../runtime/plugin_registry.ts";
import { pluginAdmin } from "../runtime/plugin_admin.ts";

/** The deciders every node hosts. */
export const deciders = [ticketDecider, sessionDecider, queueDecider];

/** Options of {@linkcode startNodeRuntime}. */
export interface NodeRuntimeOptions {
  config: Config;
  metrics: MetricsRegistry;
  log: Logger;
  /** Where committed events of pushed actors (conversations) are published. */
  bus?: Transport;
  /** The process's replicated state, whose agent load the committed events feed. */
  shared?: SharedState;
}

/**
 * Where durable timers and outbox commands go: by default everything, to
 * the local host.
 */
export interface DeliveryRouting {
  deliver?: (request: ActorRequest) => Promise<ActorResponse>;
  /** Whether this node fires an actor's timers and relays its outbox. */
  isLocal?: (actorKey: string) => boolean;
}

/** A running actor host and what it stands on. */
export interface NodeRuntime {
  store: EventStore;
  host: ActorHost;
  committer: GroupCommitter;
  /** The sandbox of tenants' routing plugins, kept in step with the store by the registry. */
  pluginHost: PluginHost;
  /** Answer a plugin admin request on this node. */
  plugins(request: PluginAdminRequest): Promise<PluginAdminResponse>;
  /** Routes the node's queues: built-ins in process, plugins through {@linkcode pluginHost}. */
  router: Router;
  /**
   * Start firing durable timers and relaying outbox commands, once the
   * process knows where actors live.
   */
  startDelivery(routing?: DeliveryRouting): void;
  /** Finish in-flight turns, passivate everything, release the store. */
  close(): Promise<void>;
}

/** Open the store, migrate it, and start hosting. */
export async function startNodeRuntime(options: NodeRuntimeOptions): Promise<NodeRuntime> {
  const { config, metrics, log } = options;
  const store = config.databaseUrl
    ? await openPostgresStore({
      url: config.databaseUrl,
      schema: config.dbSchema,
      statementTimeoutMs: config.pgStatementTimeoutMs,
      idleInTransactionTimeoutMs: config.pgIdleInTransactionTimeoutMs,
    })
    : await openPgliteStore(await dataDirectory(config.dataDir, "pg"), config.dbSchema);

  const batchSize = metrics.histogram({
    name: "sb_commit_batch_size",
    help: "Appends per group-commit batch.",
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
  });
  const batchLatency = metrics.histogram({
    name: "sb_commit_batch_seconds",
    help: "Latency of one group-commit round trip.",
  });
  const turnLatency = metrics.histogram<"kind">({
    name: "sb_actor_turn_seconds",
    help: "Time from deciding a command to replying, commit included.",
    labelNames: ["kind"],
  });
  const turnFailures = metrics.counter<"kind">({
    name: "sb_actor_turn_failures_total",
    help: "Turns whose decider threw: answered internal, the activation reloaded.",
    labelNames: ["kind"],
  });
  const committer = new GroupCommitter(store, {
    maxQueued: config.commitQueueMax,
    spacingMs: config.commitSpacingMs,
    onBatch: (size, ms) => {
      batchSize.observe(undefined, size);
      batchLatency.observe(undefined, ms / 1000);
    },
  });
  const tenants = new TenantDirectory(store);
  const load = options.shared && new LoadFeed(options.shared, config.nodeId);
  const pluginHost = new PluginHost({ metrics, deadlineMs: config.pluginDeadlineMs });
  const router = new Router(pluginHost);
  // Until delivery starts, decisions go to the local host; then to the queue's owner.
  let deliver = (request: ActorRequest) => host.dispatch(request);
  const queues = new QueueRouter({
    router,
    tenantSettings: (tenant) => tenants.get(tenant),
    deliver: (request) => deliver(request),
    onError: (message, fields) => log.warn(message, fields),
  });
  const returned = metrics.counter({
    name: "sb_queue_backlog_returned_total",
    help: "Backlogged tickets sent back to their queue as it found room.",
  });
  const backlog = new QueueBacklog({
    store,
    tenantSettings: (tenant) => tenants.get(tenant),
    deliver: (request) => deliver(request),
    onReturned: (count) => returned.inc(undefined, count),
    onError: (message, fields) => log.warn(message, fields),
  });
  const queueViews = options.bus && new QueuePublisher(options.bus, config.cluster);
  const host = new ActorHost({
    store,
    committer,
    deciders,
    tenantSettings: (tenant) => tenants.get(tenant),
    onTurn: (kind, ms) => turnLatency.observe({ kind }, ms / 1000),
    onTurnFailed: (kind) => turnFailures.inc({ kind }),
    onError: (message, fields) => log.warn(message, fields),
    onEffects: (entries) => relay?.deliver(entries),
    onCommitted: options.bus && publisher(options.bus, config.cluster),
    onEveryCommit: load && ((address, events, row) => load.committed(address, events, row)),
    onState: (address, state) => {
      queues.observe(address, state);
      backlog.observe(address, state);
      queueViews?.observe(address, state);
    },
  });
  metrics.callbackGauge<"kind">({
    name: "sb_active_actors",
    help: "Activations hosted by this process, by actor kind.",
    labelNames: ["kind"],
    collect: () =>
      Object.entries(host.activeByKind()).map(([kind, value]) => ({ labels: { kind }, value })),
  });
  metrics.callbackGauge({
    name: "sb_mailbox_depth",
    help: "Turns queued or awaiting their commit, over all actors.",
    collect: () => host.mailboxDepth(),
  });

  const deadLetters = metrics.counter({
    name: "sb_outbox_dead_letters_total",
    help: "Outbox commands their target refused for good, parked in outbox_dead_letters.",
  });

  let timers: TimerScheduler | undefined;
  let relay: OutboxRelay | undefined;
  const pruner = new IdempotencyPruner({
    store,
    windowMs: config.idempotencyHours * 3_600_000,
    onError: (message, fields) => log.warn(message, fields),
  });
  pruner.start();
  const registry = new PluginRegistry({
    store,
    host: pluginHost,
    bus: options.bus,
    cluster: config.cluster,
    onError: (message, fields) => log.warn(message, fields),
  });
  await registry.start();
  return {
    store,
    host,
    committer,
    pluginHost,
    plugins: pluginAdmin(store, registry, config.nodeId),
    router,
    startDelivery(routing = {}) {
      if (routing.deliver) deliver = routing.deliver;
      const delivery = {
        store,
        deliver,
        isLocal: routing.isLocal,
        onError: (message: string, fields: Record<string, unknown>) => log.warn(message, fields),
      };
      timers = new TimerScheduler(delivery);
      relay = new OutboxRelay({ ...delivery, onDeadLetter: () => deadLetters.inc() });
      timers.start();
      relay.start();
    },
    async close() {
      pruner.stop();
      queues.close();
      backlog.close();
      queueViews?.close();
      timers?.stop();
      relay?.stop();
      await registry.close();
      await host.drain();
      await pluginHost.close();
      await committer.settled();
      await store.close();
    },
  };
}

// PGlite creates only the last level of its path, and a fresh clone has no
// data directory yet.
async function dataDirectory(dataDir: string, name: string): Promise<string> {
  await Deno.mkdir(dataDir, { recursive: true });
  return `${dataDir}/${name}`;
}

// Each committed event on its conversation's subject, in order, then, when
// its status or assignee changed, the conversation's summary on its tenant's
// subject (queues, assignments).
function publisher(bus: Transport, cluster: string) {
  const names = subjects(cluster);
  return (address: ActorAddress, events: NewEvent[], row: Projection | null) => {
    const subject = names.conversation(address.tenant, address.id);
    for (const { seq, type, data, at } of events) bus.publish(subject, { seq, type, data, at });
    if (row) bus.publish(names.sessions(address.tenant), row.doc);
  };
}
