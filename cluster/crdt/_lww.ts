// Last-writer-wins between two writes, shared by LwwRegister and LwwMap.
import { compareBytes, encodeCanonical } from "./_codec.ts";
import { compareTimestamps, type Timestamp } from "./hlc.ts";

/** A value written at `stamp`. */
export interface Write<T> {
  readonly stamp: Timestamp;
  readonly value: T;
}

/** A removal at `stamp`: a tombstone. */
export interface Removal {
  readonly stamp: Timestamp;
  readonly removed: true;
}

/** A write or a removal. */
export type Entry<T> = Write<T> | Removal;

/** True for a tombstone. */
export function isRemoval<T>(entry: Entry<T>): entry is Removal {
  return "removed" in entry;
}

/**
 * The entry that wins: the later timestamp. A clock never issues one
 * timestamp twice, so a tie only comes from a hand-built state; it still
 * resolves the same on every replica (removal first, then the larger
 * encoded value), which keeps merge commutative.
 */
export function later<E extends Entry<unknown>>(a: E, b: E): E {
  const order = compareTimestamps(a.stamp, b.stamp);
  if (order !== 0) return order > 0 ? a : b;
  if (isRemoval(a)) return a;
  if (isRemoval(b)) return b;
  return compareBytes(encodeCanonical(a.value), encodeCanonical(b.value)) >= 0 ? a : b;
}

/** Checks a decoded value; the identity when the caller gives no parser. */
export type ParseValue<T> = (wire: unknown) => T;
