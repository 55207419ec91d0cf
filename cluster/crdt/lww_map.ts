/**
 * A map of last-writer-wins registers keyed by string. Removal writes a
 * tombstone with its timestamp, so a removal and a concurrent write resolve
 * like two writes: the later one wins.
 *
 * Tombstones are collected after a horizon. {@linkcode LwwMap.collect}
 * drops every tombstone written before the horizon and remembers the
 * horizon as the map's floor (the floor travels with full states and merges
 * by maximum). A collected key must not come back when an older write to it
 * turns up later, so a merge drops an entry written before the other side's
 * floor when the other side does not have the key at all: under the
 * assumption below, the other side had that write, and lost the key only by
 * collecting a later tombstone.
 *
 * When collection is safe: every write stamped at `t` reaches every replica
 * (by delta or by anti-entropy) before any replica collects with a horizon
 * above `t`. Choose the horizon as `now - window`, with `window` longer than
 * the longest a delta may be delayed plus the allowed clock skew. A write
 * delayed past the horizon, or one stamped by a clock that far behind, is
 * lost; that is the price of bounded tombstones. Merge is commutative,
 * associative and idempotent over the states this assumption allows (a
 * replica that collected at `h` has seen every write stamped before `h`);
 * between states that break it, the drop rule can make the result depend on
 * the order of merging.
 *
 * @example
 * ```ts
 * import { HybridClock } from "./hlc.ts";
 * import { LwwMap } from "./lww_map.ts";
 * const clock = new HybridClock("edge-1");
 * let agents = LwwMap.empty<string>();
 * agents = agents.merge(agents.put("ana", "online", clock.now()));
 * agents = agents.merge(agents.remove("ana", clock.now()));
 * console.assert(agents.value.size === 0);
 * ```
 *
 * @module
 */
import {
  CanonicalData,
  decodeWith,
  encodeCanonical,
  expectArray,
  expectCount,
  expectString,
  fnv1a,
} from "./_codec.ts";
import { LayeredMap } from "./_layered_map.ts";
import { type Entry, isRemoval, later, type ParseValue } from "./_lww.ts";
import type { Timestamp } from "./hlc.ts";
import { CrdtDecodeError, type ReplicatedData } from "./replicated_data.ts";

/** An entry on the wire: `[key, ms, counter, replica index]`, plus the value unless removed. */
type EntryWire<R = number> = [string, number, number, R] | [string, number, number, R, unknown];

/** The wire form: `[floor, replicas, entries]`, replica ids sorted and entries by key. */
export type LwwMapWire = [floor: number, replicas: string[], entries: EntryWire[]];

/** A last-writer-wins map of `V`. `LwwMap` itself is its {@linkcode ReplicatedDataType}. */
export class LwwMap<V> extends CanonicalData
  implements ReplicatedData<LwwMap<V>, ReadonlyMap<string, V>> {
  readonly #entries: ReadonlyMap<string, Entry<V>>;
  readonly #floor: number;
  // The entry digests summed per bucket (of `LwwMap.buckets`): computed on
  // first use, then carried through merges by the entries each one changes,
  // so a replica's digests cost O(changes), not O(keys), per round.
  #sums?: Uint32Array;

  private constructor(entries: ReadonlyMap<string, Entry<V>>, floor: number, sums?: Uint32Array) {
    super();
    this.#entries = entries;
    this.#floor = floor;
    this.#sums = sums;
  }

  /**
   * The default bucket count of {@linkcode LwwMap.bucketDigests}: enough that
   * a pull of a 10,000-key map under steady writes moves a few dozen keys, few
   * enough that the digests ride along with the request. Its sums are kept
   * up to date through merges.
   */
  static readonly buckets = 256;

  /** The map with no entries. */
  static empty<V>(): LwwMap<V> {
    return new LwwMap<V>(new Map(), 0);
  }

  /**
   * The map {@linkcode LwwMap.encode} encoded; `parseValue` checks each value
   * (and may throw to refuse the whole map).
   */
  static decode<V = unknown>(bytes: Uint8Array, parseValue?: ParseValue<V>): LwwMap<V> {
    return decodeWith(bytes, "LwwMap", (wire) => {
      const parts = expectArray(wire, "LwwMap");
      if (parts.length !== 3) {
        throw new CrdtDecodeError("LwwMap: expected [floor, replicas, entries]");
      }
      const floor = expectCount(parts[0], "LwwMap floor");
      const replicas = expectArray(parts[1], "LwwMap replicas").map((id) =>
        expectString(id, "LwwMap replica")
      );
      const entries = new Map<string, Entry<V>>();
      for (const item of expectArray(parts[2], "LwwMap entries")) {
        const [key, entry] = entryFromWire(item, replicas, parseValue);
        if (entries.has(key)) throw new CrdtDecodeError(`LwwMap: key ${key} twice`);
        entries.set(key, entry);
      }
      return new LwwMap(dropTombstonesBelow(entries, floor), floor);
    });
  }

  /** The live entries: every key whose latest write is not a removal. */
  get value(): ReadonlyMap<string, V> {
    const live = new Map<string, V>();
    for (const [key, entry] of this.#entries) if (!isRemoval(entry)) live.set(key, entry.value);
    return live;
  }

  /** The live value of `key`, if any. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    return entry && !isRemoval(entry) ? entry.value : undefined;
  }

  /** Tombstones written before this many epoch ms have been collected. */
  get floor(): number {
    return this.#floor;
  }

  /** How many tombstones the map still holds. */
  get tombstones(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (isRemoval(entry)) count++;
    return count;
  }

  /** The delta writing `value` under `key` at `stamp`. */
  put(key: string, value: V, stamp: Timestamp): LwwMap<V> {
    return new LwwMap(new Map([[key, { stamp, value }]]), 0);
  }

  /** The delta removing `key` at `stamp` (a tombstone). */
  remove(key: string, stamp: Timestamp): LwwMap<V> {
    return new LwwMap(new Map([[key, { stamp, removed: true as const }]]), 0);
  }

  /**
   * This map with the tombstones written before `horizonMs` dropped and its
   * floor raised to `horizonMs`. A local step, not a delta: the floor
   * reaches other replicas with full states. See the module doc for when
   * this is safe.
   */
  collect(horizonMs: number): LwwMap<V> {
    const floor = Math.max(this.#floor, horizonMs);
    return new LwwMap(dropTombstonesBelow(this.#entries, floor), floor);
  }

  merge(other: LwwMap<V>): LwwMap<V> {
    // A delta is small and the state large: walk only the smaller map, and
    // let the larger one's layers share everything the delta leaves alone,
    // unless a floor forces a look at every entry.
    const [large, small] = this.#entries.size >= other.#entries.size
      ? [this, other]
      : [other, this];
    const floor = Math.max(large.#floor, small.#floor);
    const updates: [string, Entry<V> | undefined][] = [];
    if (small.#floor > 0) {
      for (const [key, entry] of large.#entries) {
        if (entry.stamp.ms < small.#floor && !small.#entries.has(key)) {
          updates.push([key, undefined]);
        }
      }
    }
    for (const [key, theirs] of small.#entries) {
      const mine = large.#entries.get(key);
      const joined = mine
        ? later(mine, theirs)
        : theirs.stamp.ms >= large.#floor
        ? theirs
        : undefined;
      const entry = joined && !(isRemoval(joined) && joined.stamp.ms < floor) ? joined : undefined;
      if (entry !== mine) updates.push([key, entry]);
    }
    if (updates.length === 0 && floor === large.#floor) return large;
    const entries = LayeredMap.of(large.#entries).with(updates);
    return new LwwMap(entries, floor, large.#updatedSums(updates));
  }

  /**
   * A digest per key (tombstones included), to find the keys two replicas
   * disagree on; it hashes the entry alone, whatever else each map holds.
   */
  entryDigests(): Map<string, number> {
    const digests = new Map<string, number>();
    for (const [key, entry] of this.#entries) digests.set(key, entryDigest(key, entry));
    return digests;
  }

  /**
   * The entry digests summed in `count` buckets of keys, so that two
   * replicas find the few buckets they disagree on, and exchange only those
   * ({@linkcode LwwMap.pick}).
   */
  bucketDigests(count: number = LwwMap.buckets): number[] {
    return [...(count === LwwMap.buckets ? this.#cachedSums() : this.#bucketSums(count))];
  }

  /**
   * The entries whose keys fall in `buckets` (of `count`), as a delta: with
   * no floor, since the keys it lacks were left out, not collected.
   */
  pick(buckets: readonly number[], count: number = LwwMap.buckets): LwwMap<V> {
    const wanted = new Set(buckets);
    const entries = new Map<string, Entry<V>>();
    for (const [key, entry] of this.#entries) {
      if (wanted.has(keyBucket(key, count))) entries.set(key, entry);
    }
    return new LwwMap(entries, 0);
  }

  /**
   * A hash of the floor and the entry digests: equal states, equal digests,
   * without encoding the whole map (entry digests are computed once per entry).
   */
  override digest(): number {
    let sum = 0;
    for (const bucket of this.#cachedSums()) sum = (sum + bucket) >>> 0;
    return fnv1a(encodeCanonical([this.#floor, this.#entries.size, sum]));
  }

  #bucketSums(count: number): Uint32Array {
    const sums = new Uint32Array(count); // wraps modulo 2^32, as a hash sum should
    for (const [key, entry] of this.#entries) {
      sums[keyBucket(key, count)] += entryDigest(key, entry);
    }
    return sums;
  }

  #cachedSums(): Uint32Array {
    return this.#sums ??= this.#bucketSums(LwwMap.buckets);
  }

  // The sums after `updates` (a merge's), if this map's are known.
  #updatedSums(updates: [string, Entry<V> | undefined][]): Uint32Array | undefined {
    if (!this.#sums) return undefined;
    const sums = this.#sums.slice();
    for (const [key, entry] of updates) {
      const bucket = keyBucket(key, LwwMap.buckets);
      const old = this.#entries.get(key);
      if (old) sums[bucket] -= entryDigest(key, old);
      if (entry) sums[bucket] += entryDigest(key, entry);
    }
    return sums;
  }

  toWire(): LwwMapWire {
    const replicas = [...new Set([...this.#entries.values()].map((entry) => entry.stamp.replica))]
      .sort();
    const index = new Map(replicas.map((id, i) => [id, i]));
    const entries = [...this.#entries.keys()].sort().map((key) => {
      const entry = this.#entries.get(key)!;
      return entryToWire(key, entry, index.get(entry.stamp.replica)!);
    });
    return [this.#floor, replicas, entries];
  }
}

// Entries are immutable and shared between versions of a map: each is hashed once.
const entryDigests = new WeakMap<Entry<unknown>, number>();

function entryDigest<V>(key: string, entry: Entry<V>): number {
  let digest = entryDigests.get(entry);
  if (digest === undefined) {
    digest = fnv1a(encodeCanonical(entryToWire(key, entry, entry.stamp.replica)));
    entryDigests.set(entry, digest);
  }
  return digest;
}

// FNV-1a over the key's UTF-16 code units: cheap, and the same on every replica.
function keyBucket(key: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % count;
}

// The replica is its index in the map's replica table on the wire, its id in a digest.
function entryToWire<V, R>(key: string, entry: Entry<V>, replica: R): EntryWire<R> {
  const head: [string, number, number, R] = [key, entry.stamp.ms, entry.stamp.counter, replica];
  return isRemoval(entry) ? head : [...head, entry.value];
}

function entryFromWire<V>(
  wire: unknown,
  replicas: string[],
  parseValue: ParseValue<V> | undefined,
): [string, Entry<V>] {
  const items = expectArray(wire, "LwwMap entry");
  if (items.length !== 4 && items.length !== 5) {
    throw new CrdtDecodeError("LwwMap entry: expected [key, ms, counter, replica, value?]");
  }
  const key = expectString(items[0], "LwwMap key");
  const replica = replicas[expectCount(items[3], "LwwMap entry replica")];
  if (replica === undefined) throw new CrdtDecodeError("LwwMap entry: unknown replica index");
  const stamp = {
    ms: expectCount(items[1], "LwwMap entry ms"),
    counter: expectCount(items[2], "LwwMap entry counter"),
    replica,
  };
  if (items.length === 4) return [key, { stamp, removed: true }];
  return [key, { stamp, value: parseValue ? parseValue(items[4]) : items[4] as V }];
}

function dropTombstonesBelow<V>(
  entries: ReadonlyMap<string, Entry<V>>,
  floor: number,
): Map<string, Entry<V>> {
  const kept = new Map<string, Entry<V>>();
  for (const [key, entry] of entries) {
    if (!isRemoval(entry) || entry.stamp.ms >= floor) kept.set(key, entry);
  }
  return kept;
}
