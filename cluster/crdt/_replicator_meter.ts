// What a Replicator counts: its own stats, and the same figures in the
// process's metrics registry when it has one.
import type { Counter, Histogram, MetricsRegistry } from "../telemetry/metrics.ts";

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
  /** Snapshots written to the snapshot store. */
  snapshotWrites: number;
  /** Snapshot loads and writes that failed. */
  snapshotFailures: number;
  /** Tombstones dropped by collection. */
  tombstonesCollected: number;
}

type Label = "data_set";

interface Instruments {
  counters: Record<keyof ReplicatorStats, Counter<Label>>;
  mergeSeconds: Histogram<Label>;
  lagSeconds: Histogram<Label>;
}

const help: Record<keyof ReplicatorStats, [name: string, help: string]> = {
  deltasSent: ["sb_crdt_deltas_sent_total", "Delta batches published, per tenant."],
  bytesSent: ["sb_crdt_sent_bytes_total", "Encoded delta bytes published."],
  deltasReceived: ["sb_crdt_deltas_received_total", "Delta batches merged from peers."],
  bytesReceived: ["sb_crdt_received_bytes_total", "Encoded delta bytes received."],
  rejected: ["sb_crdt_rejected_total", "Inbound replication messages refused."],
  digestMismatches: ["sb_crdt_digest_mismatches_total", "Tenants whose digest differed."],
  statesPulled: ["sb_crdt_states_pulled_total", "Full states pulled from peers."],
  snapshotWrites: ["sb_crdt_snapshot_writes_total", "Snapshots written."],
  snapshotFailures: ["sb_crdt_snapshot_failures_total", "Snapshot loads and writes failed."],
  tombstonesCollected: ["sb_crdt_tombstones_collected_total", "Tombstones collected."],
};

/** The stats of one replicator, mirrored into `registry` under label `data_set`. */
export class ReplicatorMeter {
  readonly #stats: ReplicatorStats;
  readonly #labels: { data_set: string };
  readonly #instruments?: Instruments;

  constructor(dataSet: string, registry?: MetricsRegistry) {
    this.#labels = { data_set: dataSet };
    this.#stats = Object.fromEntries(Object.keys(help).map((k) => [k, 0])) as never;
    if (!registry) return;
    const labelNames = ["data_set"] as const;
    const counters = Object.fromEntries(
      Object.entries(help).map(([key, [name, text]]) => [
        key,
        registry.counter<Label>({ name, help: text, labelNames }),
      ]),
    ) as Instruments["counters"];
    this.#instruments = {
      counters,
      mergeSeconds: registry.histogram<Label>({
        name: "sb_crdt_merge_seconds",
        help: "Time to merge one delta or pulled state.",
        labelNames,
        buckets: [0.00001, 0.0001, 0.001, 0.01, 0.1, 1],
      }),
      lagSeconds: registry.histogram<Label>({
        name: "sb_crdt_convergence_lag_seconds",
        help: "From a delta's creation on its writer to its merge here (wall clocks).",
        labelNames,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      }),
    };
  }

  /** A copy of the counts. */
  get stats(): ReplicatorStats {
    return { ...this.#stats };
  }

  /** Add `by` to count `what`. */
  count(what: keyof ReplicatorStats, by = 1): void {
    this.#stats[what] += by;
    this.#instruments?.counters[what].inc(this.#labels, by);
  }

  /** One merge took `seconds`. */
  merged(seconds: number): void {
    this.#instruments?.mergeSeconds.observe(this.#labels, seconds);
  }

  /** A delta created at `createdMs` (the writer's wall clock) was merged now. */
  converged(createdMs: number): void {
    this.#instruments?.lagSeconds.observe(this.#labels, Math.max(0, Date.now() - createdMs) / 1000);
  }
}
