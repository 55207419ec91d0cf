// Keeps a Replicator's snapshots: loads (merges) them before the first sync,
// and writes each changed tenant's state at most once per interval, and on
// close. A failure is logged once per outage and counted; replication never
// waits for the store.
import type { Logger } from "../telemetry/log.ts";
import type { ReplicatorMeter } from "./_replicator_meter.ts";
import type { SnapshotStore } from "./snapshot_store.ts";

/** What the snapshotter needs of its replicator. */
export interface SnapshotHost {
  /** The encoded state of `tenant`, if it is held. */
  encoded(tenant: string): Uint8Array | undefined;
  /** Merge a loaded snapshot; false when it does not decode. */
  mergeLoaded(tenant: string, bytes: Uint8Array): boolean;
}

/** Options of {@linkcode Snapshotter}. */
export interface SnapshotterOptions {
  store: SnapshotStore;
  dataSet: string;
  intervalMs: number;
  logger: Logger;
  meter: ReplicatorMeter;
  host: SnapshotHost;
}

/** Snapshots one replicator's tenants. */
export class Snapshotter {
  readonly #options: SnapshotterOptions;
  // A tenant is written only once its snapshot was merged, so that a replica
  // that could not read the store never overwrites more with less.
  readonly #loaded = new Set<string>();
  #loadedAll = false;
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #lastWrite = new Map<string, number>();
  readonly #writing = new Set<Promise<void>>();
  #failing = false;
  #closed = false;

  constructor(options: SnapshotterOptions) {
    this.#options = options;
  }

  /** Merge the snapshots of `tenants` (of every tenant when undefined); true when read. */
  async load(tenants?: readonly string[]): Promise<boolean> {
    const { store, dataSet, host } = this.#options;
    try {
      const found = await store.load(dataSet, tenants);
      for (const [tenant, bytes] of found) {
        if (!host.mergeLoaded(tenant, bytes)) {
          this.#options.logger.warn("a snapshot did not decode", { tenant });
        }
      }
      if (tenants) { for (const tenant of tenants) this.#loaded.add(tenant); }
      else this.#loadedAll = true;
      this.#succeeded();
      return true;
    } catch (error) {
      this.#failed("load", error);
      return false;
    }
  }

  /** `tenant`'s state changed: write it within the interval. */
  changed(tenant: string): void {
    if (this.#closed) return;
    this.#dirty.add(tenant);
    this.#schedule(tenant);
  }

  /** Forget `tenant` (no longer replicated here). */
  forget(tenant: string): void {
    clearTimeout(this.#timers.get(tenant));
    this.#timers.delete(tenant);
    this.#dirty.delete(tenant);
    this.#loaded.delete(tenant);
  }

  /** Write every changed tenant now and stop; resolves once the writes are done. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    for (const tenant of [...this.#dirty]) this.#track(this.#write(tenant));
    while (this.#writing.size > 0) await Promise.all(this.#writing);
  }

  #schedule(tenant: string, delayMs?: number): void {
    if (this.#timers.has(tenant)) return;
    const due = (this.#lastWrite.get(tenant) ?? -Infinity) + this.#options.intervalMs;
    const delay = delayMs ?? Math.max(0, due - Date.now());
    this.#timers.set(
      tenant,
      setTimeout(() => {
        this.#timers.delete(tenant);
        this.#track(this.#write(tenant));
      }, delay),
    );
  }

  #track(write: Promise<void>): void {
    this.#writing.add(write);
    write.finally(() => this.#writing.delete(write));
  }

  async #write(tenant: string): Promise<void> {
    const { store, dataSet, host, meter } = this.#options;
    if (!this.#dirty.delete(tenant)) return;
    this.#lastWrite.set(tenant, Date.now());
    if (!this.#loadedAll && !this.#loaded.has(tenant) && !(await this.load([tenant]))) {
      return this.#retry(tenant);
    }
    const bytes = host.encoded(tenant);
    if (!bytes) return;
    try {
      await store.save(dataSet, tenant, bytes);
      meter.count("snapshotWrites");
      this.#succeeded();
    } catch (error) {
      this.#failed("write", error);
      this.#retry(tenant);
    }
  }

  #retry(tenant: string): void {
    if (this.#closed) return;
    this.#dirty.add(tenant);
    this.#schedule(tenant, this.#options.intervalMs);
  }

  #failed(what: string, error: unknown): void {
    this.#options.meter.count("snapshotFailures");
    if (this.#failing) return;
    this.#failing = true;
    this.#options.logger.warn(`could not ${what} snapshots; replication goes on`, {
      error: `${error}`,
    });
  }

  #succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#options.logger.info("snapshots work again");
  }
}
