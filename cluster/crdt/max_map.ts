/**
 * A map of {@linkcode MaxRegister}s keyed by string: each key holds a
 * monotone maximum of non-negative integers, and merging keeps the larger
 * value per key. Read markers of a tenant (one per conversation and
 * participant, merged across devices) are one.
 *
 * @example
 * ```ts
 * import { MaxMap } from "./max_map.ts";
 * let markers = MaxMap.empty();
 * markers = markers.merge(markers.raise("c1/ana", 7)).merge(MaxMap.empty().raise("c1/ana", 4));
 * console.assert(markers.get("c1/ana") === 7);
 * ```
 *
 * @module
 */
import { CanonicalData, countsFromWire, countsToWire, decodeWith, isCount } from "./_codec.ts";
import { LayeredMap } from "./_layered_map.ts";
import type { ReplicatedData } from "./replicated_data.ts";

/** A map of max registers. `MaxMap` itself is its {@linkcode ReplicatedDataType}. */
export class MaxMap extends CanonicalData
  implements ReplicatedData<MaxMap, ReadonlyMap<string, number>> {
  readonly #values: ReadonlyMap<string, number>;

  private constructor(values: ReadonlyMap<string, number>) {
    super();
    this.#values = values;
  }

  /** The map with every key at 0, the bottom. */
  static empty(): MaxMap {
    return new MaxMap(new Map());
  }

  /** The map {@linkcode MaxMap.encode} encoded. */
  static decode(bytes: Uint8Array): MaxMap {
    return decodeWith(bytes, "MaxMap", (wire) => new MaxMap(countsFromWire(wire, "MaxMap")));
  }

  /** Every key above 0 and its value. */
  get value(): ReadonlyMap<string, number> {
    return this.#values;
  }

  /** The value of `key` (0 if never raised). */
  get(key: string): number {
    return this.#values.get(key) ?? 0;
  }

  /** The delta raising `key` to at least `to` (a non-negative integer). */
  raise(key: string, to: number): MaxMap {
    if (!isCount(to)) throw new RangeError(`a MaxMap holds non-negative integers, not ${to}`);
    return new MaxMap(to > 0 ? new Map([[key, to]]) : new Map());
  }

  // The larger side is kept and the smaller's raises laid over it: a delta
  // of one marker costs O(√n), not a copy of a tenant's every marker.
  merge(other: MaxMap): MaxMap {
    const [large, small] = this.#values.size >= other.#values.size ? [this, other] : [other, this];
    const updates: [string, number][] = [];
    for (const [key, value] of small.#values) {
      if (value > (large.#values.get(key) ?? 0)) updates.push([key, value]);
    }
    if (updates.length === 0) return large;
    return new MaxMap(LayeredMap.of(large.#values).with(updates));
  }

  /** The wire form: `[key, value, …]`, keys sorted, zeros left out. */
  toWire(): (string | number)[] {
    return countsToWire(this.#values);
  }
}
