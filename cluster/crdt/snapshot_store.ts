/**
 * Where a {@linkcode Replicator} keeps snapshots of its states, so that a
 * cold cluster starts warm. A snapshot is only ever merged into a replica's
 * state, never trusted over it: an old one is harmless (merge is idempotent
 * and a snapshot is a state some replica held), and losing the store loses
 * nothing that the replicas still hold.
 *
 * @module
 */

/** Stores one encoded state per data set and tenant. */
export interface SnapshotStore {
  /**
   * The saved states of `dataSet`: of `tenants`, or of every tenant when
   * `tenants` is undefined. Rejects when the store cannot be reached.
   */
  load(dataSet: string, tenants?: readonly string[]): Promise<[string, Uint8Array][]>;
  /** Replace the saved state of `tenant`. Rejects when the store cannot be reached. */
  save(dataSet: string, tenant: string, state: Uint8Array): Promise<void>;
}
