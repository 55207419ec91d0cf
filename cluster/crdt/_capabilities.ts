// What a Replicator does with the types that offer more than the
// ReplicatedData contract: tombstones to collect, buckets of keys to compare.

/** A state whose tombstones can be collected, such as an LwwMap. */
export interface Collectable<T> {
  collect(horizonMs: number): T & Collectable<T>;
  readonly tombstones: number;
}

/** True when `state` can collect its tombstones. */
export function collectable<T>(state: T): state is T & Collectable<T> {
  const candidate = state as Partial<Collectable<T>>;
  return typeof candidate.collect === "function" && typeof candidate.tombstones === "number";
}

// A state that anti-entropy can compare and ship in buckets of keys, such as an LwwMap.
interface Bucketed<T> {
  /** One digest per bucket of keys; the type chooses how many buckets. */
  bucketDigests(): number[];
  /** The entries of `buckets`, as a delta. */
  pick(buckets: readonly number[]): T;
}

function bucketed<T>(state: T): state is T & Bucketed<T> {
  const candidate = state as Partial<Bucketed<T>>;
  return typeof candidate.bucketDigests === "function" && typeof candidate.pick === "function";
}

/** The bucket digests of `state`, when its type has buckets. */
export function bucketDigests<T>(state: T): number[] | undefined {
  return bucketed(state) ? state.bucketDigests() : undefined;
}

/**
 * What of `state` a peer whose bucket digests are `theirs` lacks: the
 * buckets that differ, or all of it when none does (then only a floor
 * differs) or the peer sent no digests.
 */
export function differingPart<T>(state: T, theirs: number[] | undefined): T {
  if (!theirs || !bucketed(state)) return state;
  const mine = state.bucketDigests();
  if (mine.length !== theirs.length) return state;
  const differing = mine.flatMap((digest, i) => (digest === theirs[i] ? [] : [i]));
  return differing.length === 0 ? state : state.pick(differing);
}
