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
import type { Subscription, Transport } from "../transport/transport.ts";
import { AntiEntropy, type AntiEntropyHost } from "./_anti_entropy.ts";
import { DeltaBatch } from "./_delta_batch.ts";
import { deltaMessage, parse } from "./_replication_messages.ts";
import { type CrdtSubjects, crdtSubjects } from "./_subjects.ts";
import type { ReplicatedData, ReplicatedDataType } from "./replicated_data.ts";

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
}

/** Counts since the replicator started. */
export interface ReplicatorStats {
  deltasSent: number;
  bytesSent: number;
  deltasReceived: number;
  bytesReceived: number;
  /** Inbound messages refused: malformed, or not the data set's type. */
  rejected: number;
  /** Tenants found to differ from a peer's digest. */
  digestMismatches: number;
  /** Full states pulled from peers. */
  statesPulled: number;
}

/** Called after a tenant's state took in a local update, a delta or a pulled state. */
export type ChangeListener<T> = (tenant: string, state: T) => void;

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
  readonly #stats: ReplicatorStats = {
    deltasSent: 0,
    bytesSent: 0,
    deltasReceived: 0,
    bytesReceived: 0,
    rejected: 0,
    digestMismatches: 0,
    statesPulled: 0,
  };
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
    return { ...this.#stats };
  }

  /** Serve full states, take part in anti-entropy, and ask the peers for their digests. */
  start(): void {
    this.#antiEntropy.start();
  }

  /** Replicate `tenant`: receive its deltas (an edge watches the tenants of its sockets). */
  watch(tenant: string): void {
    if (this.#watchingAll || this.#watched.has(tenant)) return;
    const subject = this.#subjects.deltas(tenant);
    this.#watched.set(tenant, this.#transport.subscribe(subject, (p) => this.#onDelta(p, tenant)));
  }

  /** Stop receiving `tenant`'s deltas and forget its state. */
  unwatch(tenant: string): void {
    this.#watched.get(tenant)?.close();
    this.#watched.delete(tenant);
    if (!this.#watchingAll) this.#states.delete(tenant);
  }

  /** Replicate every tenant (a node does). */
  watchAll(): void {
    if (this.#watchingAll) return;
    for (const subscription of this.#watched.values()) subscription.close();
    this.#watched.clear();
    this.#watchingAll = true;
    const subject = this.#subjects.allDeltas;
    this.#subscriptions.push(this.#transport.subscribe(subject, (p) => this.#onDelta(p)));
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

  /** Ship the pending deltas and stop: no more messages are sent or received. */
  close(): void {
    this.#batch.flush();
    this.#antiEntropy.close();
    for (const subscription of [...this.#subscriptions, ...this.#watched.values()]) {
      subscription.close();
    }
    this.#subscriptions.length = 0;
    this.#watched.clear();
  }

  #merge(tenant: string, incoming: T): T {
    const state = this.get(tenant).merge(incoming);
    this.#states.set(tenant, state);
    for (const listener of this.#listeners) {
      // A failing listener must not stop replication nor the other listeners.
      try {
        listener(tenant, state);
      } catch (error) {
        this.#logger.error("a change listener failed", { tenant, error: `${error}` });
      }
    }
    return state;
  }

  #ship(deltas: Map<string, T>): void {
    for (const [tenant, delta] of deltas) {
      const bytes = delta.encode();
      this.#transport.publish(this.#subjects.deltas(tenant), {
        from: this.#replica,
        tenant,
        delta: bytes,
      });
      this.#stats.deltasSent++;
      this.#stats.bytesSent += bytes.length;
    }
  }

  #onDelta(payload: unknown, watched?: string): void {
    const message = parse(deltaMessage, payload);
    if (message?.from === this.#replica) return;
    const delta = message && (watched ?? message.tenant) === message.tenant &&
      this.#decode(message.delta);
    if (!delta) return this.#reject("a delta message");
    this.#stats.deltasReceived++;
    this.#stats.bytesReceived += message.delta.length;
    this.#merge(message.tenant, delta);
  }

  #decode(bytes: Uint8Array): T | undefined {
    try {
      return this.#type.decode(bytes);
    } catch {
      return undefined;
    }
  }

  #reject(what: string): void {
    this.#stats.rejected++;
    this.#logger.warn(`refused ${what}`, { replica: this.#replica });
  }

  #antiEntropyHost(): AntiEntropyHost {
    return {
      digests: () => [...this.#states].map(([tenant, state]) => [tenant, state.digest()]),
      differs: (tenant, digest) =>
        (this.#watchingAll || this.#watched.has(tenant) || this.#states.has(tenant)) &&
        this.get(tenant).digest() !== digest,
      encodedStates: (tenants) =>
        tenants.flatMap((tenant) => {
          const state = this.#states.get(tenant);
          return state ? [[tenant, state.encode()] as [string, Uint8Array]] : [];
        }),
      mergePulled: (tenant, bytes) => {
        const state = this.#decode(bytes);
        if (!state) return false;
        this.#stats.statesPulled++;
        this.#merge(tenant, state);
        return true;
      },
      reject: (what) => this.#reject(what),
      mismatched: (n) => this.#stats.digestMismatches += n,
    };
  }
}
