/**
 * A monotone maximum of non-negative integers: merging keeps the larger. A
 * read marker (the highest seq a participant has read, on any device) is one.
 *
 * @example
 * ```ts
 * import { MaxRegister } from "./max_register.ts";
 * let marker = MaxRegister.empty();
 * marker = marker.merge(marker.raise(7)).merge(MaxRegister.empty().raise(4));
 * console.assert(marker.value === 7);
 * ```
 *
 * @module
 */
import { CanonicalData, decodeWith, expectCount, isCount } from "./_codec.ts";
import type { ReplicatedData } from "./replicated_data.ts";

/** A max register. `MaxRegister` itself is its {@linkcode ReplicatedDataType}. */
export class MaxRegister extends CanonicalData implements ReplicatedData<MaxRegister, number> {
  readonly #value: number;

  private constructor(value: number) {
    super();
    this.#value = value;
  }

  /** The register at 0, the bottom. */
  static empty(): MaxRegister {
    return new MaxRegister(0);
  }

  /** The register {@linkcode MaxRegister.encode} encoded. */
  static decode(bytes: Uint8Array): MaxRegister {
    return decodeWith(
      bytes,
      "MaxRegister",
      (wire) => new MaxRegister(expectCount(wire, "MaxRegister")),
    );
  }

  /** The largest value ever raised to. */
  get value(): number {
    return this.#value;
  }

  /** The delta raising the register to at least `to` (a non-negative integer). */
  raise(to: number): MaxRegister {
    if (!isCount(to)) throw new RangeError(`a MaxRegister holds non-negative integers, not ${to}`);
    return new MaxRegister(to);
  }

  merge(other: MaxRegister): MaxRegister {
    return other.#value > this.#value ? other : this;
  }

  /** The wire form: the number itself. */
  toWire(): number {
    return this.#value;
  }
}
