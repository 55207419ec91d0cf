// The canonical MessagePack encoding and input checks the types share.
import { Decoder, Encoder } from "@msgpack/msgpack";
import { CrdtDecodeError } from "./replicated_data.ts";

// Sorted object keys make encodings canonical, so equal states hash equal.
const encoder = new Encoder({ sortKeys: true });
const decoder = new Decoder();

/** The canonical encoding of `wire`. */
export function encodeCanonical(wire: unknown): Uint8Array {
  return encoder.encode(wire);
}

/** Decode `bytes` and hand the wire value to `parse`; every failure becomes a CrdtDecodeError. */
export function decodeWith<T>(bytes: Uint8Array, what: string, parse: (wire: unknown) => T): T {
  try {
    return parse(decoder.decode(bytes));
  } catch (error) {
    if (error instanceof CrdtDecodeError) throw error;
    throw new CrdtDecodeError(`not a ${what}: ${error}`, { cause: error });
  }
}

/** The 32-bit FNV-1a hash of `bytes`. */
export function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash >>> 0;
}

/** Byte-wise order of two encodings, a deterministic tie-break between values. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** True when both encodings are the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/** `wire` as an array, else a CrdtDecodeError naming `what`. */
export function expectArray(wire: unknown, what: string): unknown[] {
  if (!Array.isArray(wire)) throw new CrdtDecodeError(`${what}: expected an array`);
  return wire;
}

/** `wire` as a string. */
export function expectString(wire: unknown, what: string): string {
  if (typeof wire !== "string") throw new CrdtDecodeError(`${what}: expected a string`);
  return wire;
}

/** `wire` as a non-negative safe integer. */
export function expectCount(wire: unknown, what: string): number {
  if (!isCount(wire)) throw new CrdtDecodeError(`${what}: expected a non-negative integer`);
  return wire;
}

/** True for a non-negative safe integer. */
export function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * A string-keyed map of counts as one flat array `[key, count, key, count, …]`,
 * keys sorted and zero counts left out (they are the default).
 */
export function countsToWire(counts: ReadonlyMap<string, number>): (string | number)[] {
  const wire: (string | number)[] = [];
  for (const key of [...counts.keys()].sort()) {
    const count = counts.get(key)!;
    if (count > 0) wire.push(key, count);
  }
  return wire;
}

/** The map {@linkcode countsToWire} flattened. */
export function countsFromWire(wire: unknown, what: string): Map<string, number> {
  const flat = expectArray(wire, what);
  if (flat.length % 2 !== 0) throw new CrdtDecodeError(`${what}: odd number of items`);
  const counts = new Map<string, number>();
  for (let i = 0; i < flat.length; i += 2) {
    counts.set(expectString(flat[i], `${what} key`), expectCount(flat[i + 1], `${what} count`));
  }
  return counts;
}

/**
 * The part of `ReplicatedData` every type derives from its wire
 * form: the canonical encoding, equality and digest.
 */
export abstract class CanonicalData {
  /** The plain MessagePack-ready form of the state. */
  abstract toWire(): unknown;

  /** The canonical, compact MessagePack encoding. */
  encode(): Uint8Array {
    return encodeCanonical(this.toWire());
  }

  /** True when both encode to the same bytes. */
  equals(other: CanonicalData): boolean {
    return sameBytes(this.encode(), other.encode());
  }

  /** The FNV-1a hash of the canonical encoding. */
  digest(): number {
    return fnv1a(this.encode());
  }
}
