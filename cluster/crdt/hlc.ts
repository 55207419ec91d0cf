/**
 * A hybrid logical clock (Kulkarni et al.): wall-clock milliseconds, a
 * counter that orders events within one millisecond (or while the wall clock
 * stands still or steps backwards), and the replica id, so that no two
 * replicas ever issue the same timestamp and every pair of timestamps is
 * ordered. Each clock reads time through its own `now`, so one process may
 * run many independent replicas (tests do).
 *
 * @example Two replicas
 * ```ts
 * import { compareTimestamps, HybridClock } from "./hlc.ts";
 * const a = new HybridClock("a");
 * const b = new HybridClock("b");
 * const sent = a.now();
 * const received = b.observe(sent);
 * console.assert(compareTimestamps(sent, received) < 0);
 * ```
 *
 * @module
 */
import { decodeWith, encodeCanonical, expectArray, expectCount, expectString } from "./_codec.ts";
import { CrdtDecodeError } from "./replicated_data.ts";

/** One instant of a hybrid logical clock. */
export interface Timestamp {
  /** Wall-clock milliseconds since the epoch (as the issuing clock saw them). */
  readonly ms: number;
  /** Orders timestamps with the same `ms`. */
  readonly counter: number;
  /** The issuing replica: breaks the last tie. */
  readonly replica: string;
}

/** Negative when `a` is before `b`, positive when after, zero only for the same timestamp. */
export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  if (a.counter !== b.counter) return a.counter - b.counter;
  return a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0;
}

/** The compact wire form of a timestamp: `[ms, counter, replica]`. */
export type TimestampWire = [ms: number, counter: number, replica: string];

/** The wire form of `timestamp`, for embedding in a larger encoding. */
export function timestampToWire(timestamp: Timestamp): TimestampWire {
  return [timestamp.ms, timestamp.counter, timestamp.replica];
}

/** The timestamp of a {@linkcode TimestampWire}; throws CrdtDecodeError on anything else. */
export function timestampFromWire(wire: unknown, what = "timestamp"): Timestamp {
  const items = expectArray(wire, what);
  if (items.length !== 3) throw new CrdtDecodeError(`${what}: expected [ms, counter, replica]`);
  return {
    ms: expectCount(items[0], `${what} ms`),
    counter: expectCount(items[1], `${what} counter`),
    replica: expectString(items[2], `${what} replica`),
  };
}

/** The MessagePack encoding of `timestamp`. */
export function encodeTimestamp(timestamp: Timestamp): Uint8Array {
  return encodeCanonical(timestampToWire(timestamp));
}

/** The timestamp {@linkcode encodeTimestamp} encoded. */
export function decodeTimestamp(bytes: Uint8Array): Timestamp {
  return decodeWith(bytes, "timestamp", (wire) => timestampFromWire(wire));
}

/** Options of {@linkcode HybridClock}. */
export interface HybridClockOptions {
  /** The wall clock, in epoch milliseconds. @default Date.now */
  now?: () => number;
  /**
   * How far ahead of the local wall clock a remote timestamp may be before
   * the clock refuses to follow it: a remote `ms` beyond `now() + maxSkewMs`
   * is clamped to that bound (and counted in {@linkcode HybridClock.clamped}),
   * so one replica with a wild clock cannot drag the others into the future.
   * @default 60_000
   */
  maxSkewMs?: number;
}

/** A hybrid logical clock of one replica. */
export class HybridClock {
  readonly #replica: string;
  readonly #wallClock: () => number;
  readonly #maxSkewMs: number;
  #ms = 0;
  #counter = 0;
  #clamped = 0;

  /** A clock issuing timestamps for `replica`. */
  constructor(replica: string, options: HybridClockOptions = {}) {
    this.#replica = replica;
    this.#wallClock = options.now ?? Date.now;
    this.#maxSkewMs = options.maxSkewMs ?? 60_000;
  }

  /** The replica this clock stamps for. */
  get replica(): string {
    return this.#replica;
  }

  /** How many remote timestamps were further ahead than the allowed skew. */
  get clamped(): number {
    return this.#clamped;
  }

  /** A timestamp for a local event, greater than every one this clock issued or observed. */
  now(): Timestamp {
    const wall = this.#wallClock();
    if (wall > this.#ms) {
      this.#ms = wall;
      this.#counter = 0;
    } else {
      this.#counter++;
    }
    return this.#stamp();
  }

  /**
   * Take in a remote timestamp; returns a local one greater than it (than its
   * clamp, if it was too far ahead) and than every one before.
   */
  observe(remote: Timestamp): Timestamp {
    const wall = this.#wallClock();
    const limit = wall + this.#maxSkewMs;
    let remoteMs = remote.ms;
    let remoteCounter = remote.counter;
    if (remoteMs > limit) {
      this.#clamped++;
      remoteMs = limit;
      remoteCounter = 0;
    }
    const ms = Math.max(this.#ms, remoteMs, wall);
    if (ms === this.#ms && ms === remoteMs) {
      this.#counter = Math.max(this.#counter, remoteCounter) + 1;
    } else if (ms === this.#ms) this.#counter++;
    else if (ms === remoteMs) this.#counter = remoteCounter + 1;
    else this.#counter = 0;
    this.#ms = ms;
    return this.#stamp();
  }

  #stamp(): Timestamp {
    return { ms: this.#ms, counter: this.#counter, replica: this.#replica };
  }
}
