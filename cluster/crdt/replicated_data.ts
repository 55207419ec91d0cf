/**
 * The contract every replicated data type of `cluster/crdt` keeps
 * (DESIGN §6): delta-state CRDTs after Almeida, Shoker and Baquero.
 *
 * Values are immutable. A delta mutator (`increment`, `put`, …) does not
 * change its receiver: it returns the delta to ship, itself a value of the
 * same type, and the caller (and every other replica) applies it with
 * `merge`. `merge` returns the joined value (a new one, or an input when that
 * already is the join: values never change) and leaves both inputs as they were;
 * it is commutative, associative and idempotent, so deltas may arrive
 * duplicated, reordered, or not at all (full states exchanged later repair
 * the loss), and a delta needs no causal delivery: one for state a replica
 * has never seen is merged all the same.
 *
 * @module
 */

/** A state-based replicated value of type `T` whose application-level value is `V`. */
export interface ReplicatedData<T, V> {
  /** The least upper bound of this value and `other`; neither is changed. */
  merge(other: T): T;
  /** What the application reads. */
  readonly value: V;
  /** True when both hold the same state (the same canonical encoding). */
  equals(other: T): boolean;
  /** The canonical, compact MessagePack encoding: equal states encode to equal bytes. */
  encode(): Uint8Array;
  /** A 32-bit hash of the canonical encoding, for anti-entropy: equal states, equal digests. */
  digest(): number;
}

/** What a replicator needs to know about a type: its bottom value and how to decode one. */
export interface ReplicatedDataType<T> {
  /** The bottom of the lattice: merging it changes nothing. */
  empty(): T;
  /** The value `bytes` encode; throws {@linkcode CrdtDecodeError} on anything else. */
  decode(bytes: Uint8Array): T;
}

/** Bytes that are not the encoding of the expected replicated type. */
export class CrdtDecodeError extends Error {
  override name = "CrdtDecodeError";
}
