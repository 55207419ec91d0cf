/**
 * A counter that goes up and down: two grow-only counters, one of
 * increments and one of decrements; the value is their difference.
 *
 * @example
 * ```ts
 * import { PNCounter } from "./pn_counter.ts";
 * let load = PNCounter.empty();
 * load = load.merge(load.increment("node-1", 3));
 * load = load.merge(load.decrement("node-2"));
 * console.assert(load.value === 2);
 * ```
 *
 * @module
 */
import { CanonicalData, decodeWith, expectArray } from "./_codec.ts";
import { GCounter } from "./g_counter.ts";
import { CrdtDecodeError, type ReplicatedData } from "./replicated_data.ts";

/** A positive-negative counter. `PNCounter` itself is its {@linkcode ReplicatedDataType}. */
export class PNCounter extends CanonicalData implements ReplicatedData<PNCounter, number> {
  readonly #up: GCounter;
  readonly #down: GCounter;

  private constructor(up: GCounter, down: GCounter) {
    super();
    this.#up = up;
    this.#down = down;
  }

  /** The counter at zero. */
  static empty(): PNCounter {
    return new PNCounter(GCounter.empty(), GCounter.empty());
  }

  /** The counter {@linkcode PNCounter.encode} encoded. */
  static decode(bytes: Uint8Array): PNCounter {
    return decodeWith(bytes, "PNCounter", (wire) => {
      const parts = expectArray(wire, "PNCounter");
      if (parts.length !== 2) throw new CrdtDecodeError("PNCounter: expected [up, down]");
      return new PNCounter(GCounter.fromWire(parts[0]), GCounter.fromWire(parts[1]));
    });
  }

  /** Increments minus decrements. */
  get value(): number {
    return this.#up.value - this.#down.value;
  }

  /** The delta adding `by` (a non-negative integer) on behalf of `replica`. */
  increment(replica: string, by = 1): PNCounter {
    return new PNCounter(this.#up.increment(replica, by), GCounter.empty());
  }

  /** The delta subtracting `by` (a non-negative integer) on behalf of `replica`. */
  decrement(replica: string, by = 1): PNCounter {
    return new PNCounter(GCounter.empty(), this.#down.increment(replica, by));
  }

  merge(other: PNCounter): PNCounter {
    return new PNCounter(this.#up.merge(other.#up), this.#down.merge(other.#down));
  }

  /** The wire form: `[up, down]`, each a {@linkcode GCounter.toWire} form. */
  toWire(): [(string | number)[], (string | number)[]] {
    return [this.#up.toWire(), this.#down.toWire()];
  }
}
