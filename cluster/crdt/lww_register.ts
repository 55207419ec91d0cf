/**
 * A last-writer-wins register: a value and the hybrid-logical-clock
 * timestamp of its write; merging keeps the later write. The timestamp ends
 * in the replica id, so two replicas never tie.
 *
 * @example
 * ```ts
 * import { HybridClock } from "./hlc.ts";
 * import { LwwRegister } from "./lww_register.ts";
 * const clock = new HybridClock("edge-1");
 * let status = LwwRegister.empty<string>();
 * status = status.merge(status.set("away", clock.now()));
 * console.assert(status.value === "away");
 * ```
 *
 * @module
 */
import { CanonicalData, decodeWith, expectArray } from "./_codec.ts";
import { later, type ParseValue, type Write } from "./_lww.ts";
import { type Timestamp, timestampFromWire, timestampToWire, type TimestampWire } from "./hlc.ts";
import { CrdtDecodeError, type ReplicatedData } from "./replicated_data.ts";

/** A last-writer-wins register of `T`. `LwwRegister` itself is its {@linkcode ReplicatedDataType}. */
export class LwwRegister<T> extends CanonicalData
  implements ReplicatedData<LwwRegister<T>, T | undefined> {
  readonly #write: Write<T> | undefined;

  private constructor(write: Write<T> | undefined) {
    super();
    this.#write = write;
  }

  /** The register never written. */
  static empty<T>(): LwwRegister<T> {
    return new LwwRegister<T>(undefined);
  }

  /**
   * The register {@linkcode LwwRegister.encode} encoded; `parseValue` checks
   * the value (and may throw to refuse it).
   */
  static decode<T = unknown>(bytes: Uint8Array, parseValue?: ParseValue<T>): LwwRegister<T> {
    return decodeWith(bytes, "LwwRegister", (wire) => {
      const items = expectArray(wire, "LwwRegister");
      if (items.length === 0) return LwwRegister.empty<T>();
      if (items.length !== 2) throw new CrdtDecodeError("LwwRegister: expected [stamp, value]");
      const stamp = timestampFromWire(items[0], "LwwRegister stamp");
      const value = parseValue ? parseValue(items[1]) : items[1] as T;
      return new LwwRegister({ stamp, value });
    });
  }

  /** The value of the latest write, or `undefined` if there was none. */
  get value(): T | undefined {
    return this.#write?.value;
  }

  /** When the current value was written. */
  get stamp(): Timestamp | undefined {
    return this.#write?.stamp;
  }

  /** The delta writing `value` at `stamp` (from the writer's {@linkcode HybridClock.now}). */
  set(value: T, stamp: Timestamp): LwwRegister<T> {
    return new LwwRegister({ stamp, value });
  }

  merge(other: LwwRegister<T>): LwwRegister<T> {
    if (!other.#write) return this;
    if (!this.#write) return other;
    return later(this.#write, other.#write) === this.#write ? this : other;
  }

  /** The wire form: `[]` when empty, else `[stamp, value]`. */
  toWire(): [] | [TimestampWire, T] {
    return this.#write ? [timestampToWire(this.#write.stamp), this.#write.value] : [];
  }
}
