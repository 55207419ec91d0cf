/**
 * The state every node and edge shares through delta CRDTs (DESIGN §6): one
 * {@linkcode Replicator} per data set, on the process's transport.
 *
 * - `presence`: an {@linkcode LwwMap} per tenant keyed by {@linkcode presenceKey}
 *   (agent and edge), written only by the edge holding the agent's sockets,
 *   each entry leased (see `edge/live/presence.ts` for how it is read).
 * - `load`: an {@linkcode LwwMap} per tenant keyed by {@linkcode loadKey}
 *   (agent and counting replica): each node writes only its own entries, the
 *   net open chats and tickets of the events it committed, so an agent's load
 *   is the sum over replicas (a PN-counter per agent, spelled as a map of
 *   single-writer registers).
 * - `read`: a {@linkcode MaxMap} per tenant keyed by {@linkcode readKey}
 *   (conversation and participant): the highest seq the participant read on
 *   any device.
 *
 * Nodes replicate every tenant; edges watch the tenants of their sockets.
 *
 * @module
 */
import * as v from "valibot";
import { HybridClock } from "../crdt/hlc.ts";
import { LwwMap } from "../crdt/lww_map.ts";
import { MaxMap } from "../crdt/max_map.ts";
import { Replicator } from "../crdt/replicator.ts";
import type { SnapshotStore } from "../crdt/snapshot_store.ts";
import type { MetricsRegistry } from "../telemetry/metrics.ts";
import type { Transport } from "../transport/transport.ts";

/** An agent's availability as its client sets it. */
export type AgentStatus = "online" | "away" | "offline";

const names = v.optional(v.array(v.pipe(v.string(), v.maxLength(100))), []);
const presenceEntry = v.object({
  status: v.picklist(["online", "away", "offline"]),
  capacity: v.pipe(v.number(), v.integer(), v.minValue(0)),
  skills: names,
  languages: names,
  teams: names,
  /** Epoch ms after which the entry counts as offline unless renewed. */
  leaseUntil: v.number(),
  /** The edge that wrote it. */
  edge: v.string(),
});

/** What one edge says of one agent, until `leaseUntil`. */
export type PresenceEntry = v.InferOutput<typeof presenceEntry>;

const loadEntry = v.object({
  chats: v.pipe(v.number(), v.integer()),
  tickets: v.pipe(v.number(), v.integer()),
});

/** One replica's net contribution to an agent's open chats and tickets. */
export type LoadEntry = v.InferOutput<typeof loadEntry>;

/** The presence key of `agent` as written by `edge` (edge ids have no spaces). */
export function presenceKey(agent: string, edge: string): string {
  return `${edge} ${agent}`;
}

/** The load key of `agent` counted by `replica` (replica ids have no spaces). */
export function loadKey(agent: string, replica: string): string {
  return `${replica} ${agent}`;
}

/** The agent a presence or load key is of. */
export function agentOfKey(key: string): string {
  return key.slice(key.indexOf(" ") + 1);
}

/** The read-marker key of a participant (`visitor:` or `agent:` and its sub) in a conversation. */
export function readKey(conversation: string, participant: string): string {
  return `${conversation} ${participant}`;
}

/** Options of {@linkcode createSharedState}. */
export interface SharedStateOptions {
  transport: Transport;
  /** The cluster's subject prefix. */
  prefix: string;
  /** This process's id, unique in the cluster. */
  replica: string;
  /**
   * Replicate every tenant's presence and load (nodes route with them);
   * otherwise only watched tenants'. Read markers are replicated only for
   * watched tenants either way: only sockets read them.
   */
  watchAll: boolean;
  /** How often digests are exchanged. @default 5000 */
  antiEntropyIntervalMs?: number;
  /**
   * Where replicas are snapshotted (Redis in a cluster), so a cold cluster
   * starts warm; without it state lives only while some process holds it.
   */
  snapshots?: SnapshotStore;
  /** Registers the replicators' `sb_crdt_*` metrics. */
  metrics?: MetricsRegistry;
}

/** The replicators of a process. */
export interface SharedState {
  /** This process's replica id. */
  readonly replica: string;
  readonly clock: HybridClock;
  readonly presence: Replicator<LwwMap<PresenceEntry>>;
  readonly load: Replicator<LwwMap<LoadEntry>>;
  readonly read: Replicator<MaxMap>;
  /**
   * Watch a tenant (its first socket here) in every data set not replicated
   * whole; a tenant not watched yet is pulled from the peers.
   */
  watch(tenant: string): void;
  /** Stop watching a tenant (its last socket here left) and forget what only it needed. */
  unwatch(tenant: string): void;
  /** Start anti-entropy (once the membership view is known). */
  start(): void;
  /** Ship what is pending, write the last snapshots and stop. */
  close(): Promise<void>;
}

/** Build the process's replicators; nothing is exchanged before `start`. */
export function createSharedState(options: SharedStateOptions): SharedState {
  const { transport, prefix, replica } = options;
  const common = {
    transport,
    prefix,
    replica,
    antiEntropyIntervalMs: options.antiEntropyIntervalMs,
    snapshots: options.snapshots,
    metrics: options.metrics,
  };
  const presence = new Replicator<LwwMap<PresenceEntry>>({
    ...common,
    dataSet: "presence",
    type: lwwMapOf(presenceEntry),
  });
  const load = new Replicator<LwwMap<LoadEntry>>({
    ...common,
    dataSet: "load",
    type: lwwMapOf(loadEntry),
  });
  const read = new Replicator<MaxMap>({
    ...common,
    // A marker moves with every message written or read, and is seen only as
    // an unread count or "Seen": a wider window ships a chat's markers in
    // fewer deltas, later by no more than a frame.
    batchWindowMs: 25,
    dataSet: "read",
    type: { empty: MaxMap.empty, decode: MaxMap.decode },
  });
  const all = [presence, load, read];
  // Every tenant's markers on every node would be a key per conversation and
  // participant of the whole cluster, merged at every message, and read by
  // nobody: a node's own sockets watch their tenants like an edge's.
  const perTenant = options.watchAll ? [read] : all;
  if (options.watchAll) { for (const replicator of [presence, load]) replicator.watchAll(); }
  const watched = new Set<string>();
  return {
    replica,
    clock: new HybridClock(replica),
    presence,
    load,
    read,
    watch(tenant) {
      if (watched.has(tenant)) return;
      watched.add(tenant);
      for (const replicator of perTenant) {
        replicator.watch(tenant);
        replicator.antiEntropy();
      }
    },
    unwatch(tenant) {
      if (!watched.delete(tenant)) return;
      for (const replicator of perTenant) replicator.unwatch(tenant);
    },
    start: () => all.forEach((replicator) => replicator.start()),
    close: async () => {
      await Promise.all(all.map((replicator) => replicator.stop()));
    },
  };
}

function lwwMapOf<S extends v.GenericSchema>(schema: S) {
  return {
    empty: () => LwwMap.empty<v.InferOutput<S>>(),
    decode: (bytes: Uint8Array) => LwwMap.decode(bytes, (wire) => v.parse(schema, wire)),
  };
}
