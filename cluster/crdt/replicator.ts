/**
 * Delta-state replication of one data set (DESIGN §6) over any
 * {@linkcode Transport}: one state per tenant, local updates batched into
 * delta messages on the tenant's subject, and digest-based anti-entropy
 * that repairs whatever the deltas missed (a lost message, a partition, a
 * replica that just started).
 *
 * Deltas go out fire-and-forget: a lost one is repaired by the next
 * anti-entropy round, and a delta for state a replica has not seen is
 * merged all the same (the types need no causal delivery). Anti-entropy:
 * every replica announces a digest per tenant (on start, asking the others to
 * answer at once, and then every interval); a replica that holds different
 * state of a tenant it replicates pulls that tenant's full state from the
 * announcer and merges it. Both sides of a difference see it, so both pull.
 *
 * Snapshots (optional, `snapshots`): on start the replicator merges the
 * stored snapshots of what it replicates before its first anti-entropy
 * round, so a cold cluster starts warm; then it writes each changed tenant
 * at most every `snapshotIntervalMs`, and on {@linkcode Replicator.stop}. A
 * store that is down only costs warmth: replication goes on over NATS, and
 * the failures are logged once and counted.
 *
 * Tombstones (states with `collect`, such as {@linkcode LwwMap}): every
 * `collectIntervalMs` the replicator collects the tombstones older than
 * `tombstoneWindowMs`. The window must exceed the longest a delta can take to
 * reach every replica (anti-entropy repairs a loss within its interval, a
 * partition heals within the window) plus the clock skew the clocks allow;
 * the 10-minute default is far above both.
 *
 * @example
 * ```ts ignore
 * const presence = new Replicator({
 *   transport, prefix: "sb", dataSet: "presence", replica: "edge-1",
 *   type: { empty: () => LwwMap.empty<Status>(), decode: (b) => LwwMap.decode(b, parseStatus) },
 * });
 * presence.watch("acme");
 * presence.start();
 * presence.update("acme", (agents) => agents.put("ana", "online", clock.now()));
 * ```
 *
 * @module
 */
import { createLogger, type Logger } from "../telemetry/log.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import type { Subscription, Transport } from "../transport/transport.ts";
import { AntiEntropy, type AntiEntropyHost } from "./_anti_entropy.ts";
import { bucketDigests, collectable, differingPart } from "./_capabilities.ts";
import { DeltaBatch, type Pending } from "./_delta_batch.ts";
import { deltaMessage, parse } from "./_replication_messages.ts";
import { ReplicatorMeter, type ReplicatorStats } from "./_replicator_meter.ts";
import { Snapshotter } from "./_snapshotter.ts";
import { type CrdtSubjects, crdtSubjects } from "./_subjects.ts";
import type { ReplicatedData, ReplicatedDataType } from "./replicated_data.ts";
import type { SnapshotStore } from "./snapshot_store.ts";

export type { ReplicatorStats } from "./_replicator_meter.ts";

/** Options of {@linkcode Replicator}. */
export interface ReplicatorOptions<T> {
  transport: Transport;
  /** The cluster's subject prefix (`SB_CLUSTER`). */
  prefix: string;
  /** The data set's name, one subject token, e.g. `presence`. */
  dataSet: string;
  /** This replica's id, unique in the cluster (the process id). */
  replica: string;
  type: ReplicatedDataType<T>;
  /** How long a delta waits to be batched with others. @default 5 */
  batchWindowMs?: number;
  /** A batch of this many updates ships at once. @default 256 */
  maxBatchUpdates?: number;
  /** How often digests are announced. @default 5_000 */
  antiEntropyIntervalMs?: number;
  /** How long a full-state pull may take. @default 2_000 */
  pullTimeoutMs?: number;
  logger?: Logger;
  /** Where states are snapshotted (e.g. {@linkcode RedisSnapshots}); none by default. */
  snapshots?: SnapshotStore;
  /** A tenant's snapshot is written at most this often. @default 2_000 */
  snapshotIntervalMs?: number;
  /** Registers the `sb_crdt_*` metrics, labelled with the data set. */
  metrics?: MetricsRegistry;
  /** Tombstones older than this are collected (see the module doc). @default 600_000 */
  tombstoneWindowMs?: number;
  /** How often tombstones are collected. @default 60_000 */
  collectIntervalMs?: number;
  /**
   * Ship the tenant's full state with every batch instead of the delta: the
   * baseline the benchmark compares deltas with, not for production.
   */
  shipFullState?: boolean;
}

/**
 * Called after a tenant's state took in a local update, a delta or a pulled
 * state (`change`: what was merged in, so a listener can look at its keys
 * alone).
 */
export type ChangeListener<T> = (tenant: string, state: T, change: T) => void;

/** Replicates one data set: a state of type `T` per tenant. */
export class Replicator<T extends ReplicatedData<T, unknown>> {
  readonly #transport: Transport;
  readonly #replica: string;
  readonly #type: ReplicatedDataType<T>;
  readonly #subjects: CrdtSubjects;
  readonly #logger: Logger;
  readonly #batch: DeltaBatch<T>;
  readonly #antiEntropy: AntiEntropy;
  readonly #states = new Map<string, T>();
  readonly #watched = new Map<string, Subscription>();
  readonly #subscriptions: Subscription[] = [];
  readonly #listeners: ChangeListener<T>[] = [];
  readonly #meter: ReplicatorMeter;
  readonly #snapshotter?: Snapshotter;
  readonly #shipFullState: boolean;
  readonly #tombstoneWindowMs: number;
  readonly #collectIntervalMs: number;
  #collectTimer?: ReturnType<typeof setInterval>;
  #ready?: Promise<void>;
  #watchingAll = false;

  /** A replicator; it sends and receives nothing before {@linkcode Replicator.start}. */
  constructor(options: ReplicatorOptions<T>) {
    this.#transport = options.transport;
    this.#replica = options.replica;
    this.#type = options.type;
    this.#subjects = crdtSubjects(options.prefix, options.dataSet);
    this.#subjects.state(options.replica); // refuse an id that is no subject token now
    this.#logger = options.logger ??
      createLogger({ component: "replicator", dataSet: options.dataSet });
    this.#meter = new ReplicatorMeter(options.dataSet, options.metrics);
    this.#shipFullState = options.shipFullState ?? false;
    this.#tombstoneWindowMs = options.tombstoneWindowMs ?? 600_000;
    this.#collectIntervalMs = options.collectIntervalMs ?? 60_000;
    if (options.snapshots) {
      this.#snapshotter = new Snapshotter({
        store: options.snapshots,
        dataSet: options.dataSet,
        intervalMs: options.snapshotIntervalMs ?? 2_000,
        logger: this.#logger,
        meter: this.#meter,
        host: {
          encoded: (tenant) => this.#states.get(tenant)?.encode(),
          mergeLoaded: (tenant, bytes) => {
            const state = this.#decode(bytes);
            if (state) this.#merge(tenant, state);
            return state !== undefined;
          },
        },
      });
    }
    this.#batch = new DeltaBatch({
      windowMs: options.batchWindowMs ?? 5,
      maxUpdates: options.maxBatchUpdates ?? 256,
      ship: (deltas) => this.#ship(deltas),
    });
    this.#antiEntropy = new AntiEntropy({
      transport: this.#transport,
      subjects: this.#subjects,
      replica: this.#replica,
      intervalMs: options.antiEntropyIntervalMs ?? 5_000,
      pullTimeoutMs: options.pullTimeoutMs ?? 2_000,
      logger: this.#logger,
      host: this.#antiEntropyHost(),
    });
  }

  /** Counts of what went over the wire. */
  get stats(): Readonly<ReplicatorStats> {
    return this.#meter.stats;
  }

  /**
   * Serve full states, take part in anti-entropy, and ask the peers for their
   * digests; with snapshots, only once the stored ones are merged (see
   * {@linkcode Replicator.ready}).
   */
  start(): void {
    this.#collectTimer = setInterval(() => this.collectTombstones(), this.#collectIntervalMs);
    if (!this.#snapshotter) {
      this.#antiEntropy.start();
      this.#ready = Promise.resolve();
      return;
    }
    const tenants = this.#watchingAll ? undefined : [...this.#watched.keys()];
    this.#ready = this.#snapshotter.load(tenants).then(() => {
      if (this.#collectTimer !== undefined) this.#antiEntropy.start();
    });
  }

  /**
   * Resolves once {@linkcode Replicator.start} merged the snapshots (or
   * found the store down) and anti-entropy began.
   */
  get ready(): Promise<void> {
    return this.#ready ?? Promise.reject(new Error("the replicator was not started"));
  }

  /** Replicate `tenant`: receive its deltas (an edge watches the tenants of its sockets). */
  watch(tenant: string): void {
    if (this.#watchingAll || this.#watched.has(tenant)) return;
    const subject = this.#subjects.deltas(tenant);
    this.#watched.set(tenant, this.#transport.subscribe(subject, (p) => this.#onDelta(p, tenant)));
    if (this.#ready) this.#snapshotter?.load([tenant]);
  }

  /** Stop receiving `tenant`'s deltas and forget its state. */
  unwatch(tenant: string): void {
    this.#watched.get(tenant)?.close();
    this.#watched.delete(tenant);
    if (this.#watchingAll) return;
    this.#states.delete(tenant);
    this.#snapshotter?.forget(tenant);
  }

  /** Replicate every tenant (a node does). */
  watchAll(): void {
    if (this.#watchingAll) return;
    for (const subscription of this.#watched.values()) subscription.close();
    this.#watched.clear();
    this.#watchingAll = true;
    const subject = this.#subjects.allDeltas;
    this.#subscriptions.push(this.#transport.subscribe(subject, (p) => this.#onDelta(p)));
    if (this.#ready) this.#snapshotter?.load();
  }

  /** The state of `tenant` (empty if nothing is known). */
  get(tenant: string): T {
    return this.#states.get(tenant) ?? this.#type.empty();
  }

  /**
   * Apply a local update: `mutate` gets the current state and returns the
   * delta (a delta mutator's result), which is merged here and shipped with
   * the next batch. Returns the new state.
   */
  update(tenant: string, mutate: (state: T) => T): T {
    const delta = mutate(this.get(tenant));
    this.#batch.add(tenant, delta);
    return this.#merge(tenant, delta);
  }

  /** Be told of every change of every tenant's state. */
  onChange(listener: ChangeListener<T>): void {
    this.#listeners.push(listener);
  }

  /** Announce this replica's digests now, asking the peers to answer with theirs. */
  antiEntropy(): void {
    this.#antiEntropy.announce(true);
  }

  /**
   * Collect the tombstones older than the window now (the replicator does
   * every `collectIntervalMs`). The horizon is rounded down to the interval,
   * so replicas collecting in the same interval agree on the floor and their
   * digests stay equal.
   */
  collectTombstones(now = Date.now()): void {
    const interval = this.#collectIntervalMs;
    const horizon = Math.floor((now - this.#tombstoneWindowMs) / interval) * interval;
    for (const [tenant, state] of this.#states) {
      if (!collectable(state)) continue;
      const collected = state.collect(horizon);
      const dropped = state.tombstones - collected.tombstones;
      if (dropped === 0) continue;
      this.#states.set(tenant, collected);
      this.#meter.count("tombstonesCollected", dropped);
      this.#snapshotter?.changed(tenant);
    }
  }

  /** Ship the pending deltas and stop: no more messages are sent or received. */
  close(): void {
    this.#stopping();
  }

  /** {@linkcode Replicator.close}, then write the last snapshots; resolves once written. */
  async stop(): Promise<void> {
    await this.#stopping();
  }

  #stopping(): Promise<void> {
    clearInterval(this.#collectTimer);
    this.#collectTimer = undefined;
    this.#batch.flush();
    this.#antiEntropy.close();
    for (const subscription of [...this.#subscriptions, ...this.#watched.values()]) {
      subscription.close();
    }
    this.#subscriptions.length = 0;
    this.#watched.clear();
    return this.#snapshotter?.close() ?? Promise.resolve();
  }

  #merge(tenant: string, incoming: T): T {
    const started = performance.now();
    const state = this.get(tenant).merge(incoming);
    this.#meter.merged((performance.now() - started) / 1000);
    this.#states.set(tenant, state);
    this.#snapshotter?.changed(tenant);
    for (const listener of this.#listeners) {
      // A failing listener must not stop replication nor the other listeners.
      try {
        listener(tenant, state, incoming);
      } catch (error) {
        this.#logger.error("a change listener failed", { tenant, error: `${error}` });
      }
    }
    return state;
  }

  #ship(deltas: Map<string, Pending<T>>): void {
    for (const [tenant, { delta, createdMs }] of deltas) {
      const bytes = (this.#shipFullState ? this.get(tenant) : delta).encode();
      this.#transport.publish(this.#subjects.deltas(tenant), {
        from: this.#replica,
        tenant,
        delta: bytes,
        at: createdMs,
      });
      this.#meter.count("deltasSent");
      this.#meter.count("bytesSent", bytes.length);
    }
  }

  #onDelta(payload: unknown, watched?: string): void {
    const message = parse(deltaMessage, payload);
    if (message?.from === this.#replica) return;
    const delta = message && (watched ?? message.tenant) === message.tenant &&
      this.#decode(message.delta);
    if (!delta) return this.#reject("a delta message");
    this.#meter.count("deltasReceived");
    this.#meter.count("bytesReceived", message.delta.length);
    this.#merge(message.tenant, delta);
    if (message.at !== undefined) this.#meter.converged(message.at);
  }

  #decode(bytes: Uint8Array): T | undefined {
    try {
      return this.#type.decode(bytes);
    } catch {
      return undefined;
    }
  }

  #reject(what: string): void {
    this.#meter.count("rejected");
    this.#logger.warn(`refused ${what}`, { replica: this.#replica });
  }

  #antiEntropyHost(): AntiEntropyHost {
    return {
      digests: () => [...this.#states].map(([tenant, state]) => [tenant, state.digest()]),
      differs: (tenant, digest) =>
        (this.#watchingAll || this.#watched.has(tenant) || this.#states.has(tenant)) &&
        this.get(tenant).digest() !== digest,
      bucketDigests: (tenants) =>
        tenants.flatMap((tenant) => {
          const state = this.#states.get(tenant);
          const digests = state && bucketDigests(state);
          return digests ? [[tenant, digests] as [string, number[]]] : [];
        }),
      encodedStates: (tenants, buckets) =>
        tenants.flatMap((tenant) => {
          const state = this.#states.get(tenant);
          if (!state) return [];
          return [[tenant, differingPart(state, buckets.get(tenant)).encode()] as [
            string,
            Uint8Array,
          ]];
        }),
      mergePulled: (tenant, bytes) => {
        const state = this.#decode(bytes);
        if (!state) return false;
        this.#meter.count("statesPulled");
        this.#merge(tenant, state);
        return true;
      },
      reject: (what) => this.#reject(what),
      mismatched: (n) => this.#meter.count("digestMismatches", n),
    };
  }
}
