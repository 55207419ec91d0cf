/**
 * A grow-only counter: one count per replica, merged by the maximum of each;
 * the value is their sum.
 *
 * @example
 * ```ts
 * import { GCounter } from "./g_counter.ts";
 * let counter = GCounter.empty();
 * const delta = counter.increment("edge-1", 2);
 * counter = counter.merge(delta);
 * console.assert(counter.value === 2);
 * ```
 *
 * @module
 */
import { CanonicalData, countsFromWire, countsToWire, decodeWith, isCount } from "./_codec.ts";
import type { ReplicatedData } from "./replicated_data.ts";

/** A grow-only counter. `GCounter` itself is its {@linkcode ReplicatedDataType}. */
export class GCounter extends CanonicalData implements ReplicatedData<GCounter, number> {
  readonly #counts: ReadonlyMap<string, number>;

  private constructor(counts: ReadonlyMap<string, number>) {
    super();
    this.#counts = counts;
  }

  /** The counter at zero. */
  static empty(): GCounter {
    return new GCounter(new Map());
  }

  /** The counter {@linkcode GCounter.encode} encoded. */
  static decode(bytes: Uint8Array): GCounter {
    return decodeWith(bytes, "GCounter", (wire) => GCounter.fromWire(wire));
  }

  /** The counter of a {@linkcode GCounter.toWire} form; for types built from counters. */
  static fromWire(wire: unknown): GCounter {
    return new GCounter(countsFromWire(wire, "GCounter"));
  }

  /** The sum of every replica's count. */
  get value(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }

  /** What `replica` has counted so far. */
  countOf(replica: string): number {
    return this.#counts.get(replica) ?? 0;
  }

  /** The delta adding `by` (a non-negative integer) to `replica`'s count. */
  increment(replica: string, by = 1): GCounter {
    if (!isCount(by)) throw new RangeError(`a GCounter grows by a non-negative integer, not ${by}`);
    return new GCounter(new Map([[replica, this.countOf(replica) + by]]));
  }

  merge(other: GCounter): GCounter {
    const counts = new Map(this.#counts);
    for (const [replica, count] of other.#counts) {
      if (count > (counts.get(replica) ?? 0)) counts.set(replica, count);
    }
    return new GCounter(counts);
  }

  /** The wire form: `[replica, count, …]`. */
  toWire(): (string | number)[] {
    return countsToWire(this.#counts);
  }
}
