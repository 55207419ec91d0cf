/**
 * Deep equality with the rules of `jsr:@std/assert`'s `equal`, which differ from
 * `node:assert`'s `deepStrictEqual`: `0` equals `-0`, a null-prototype object
 * equals a plain one, and class instances (errors included) are compared over
 * every own and inherited property, non-enumerable ones too.
 *
 * @module
 */

// Temporal is absent from some runtimes; an empty stand-in keeps the lookups below safe.
// deno-lint-ignore no-explicit-any
const Temporal = (globalThis as any).Temporal ?? {};

// Instances of these carry their whole identity in their string form.
const STRING_COMPARABLE = new Set<unknown>(
  [
    Intl.Locale,
    RegExp,
    URL,
    URLSearchParams,
    Temporal.Duration,
    Temporal.Instant,
    Temporal.PlainDate,
    Temporal.PlainDateTime,
    Temporal.PlainTime,
    Temporal.PlainYearMonth,
    Temporal.PlainMonthDay,
    Temporal.ZonedDateTime,
  ].filter((ctor) => ctor !== undefined).map((ctor) => ctor.prototype),
);

const TypedArray = Object.getPrototypeOf(Uint8Array);

type Indexed = ArrayLike<unknown>;

/** Whether `a` and `b` are deeply equal under `@std/assert` rules. */
export function equal(a: unknown, b: unknown): boolean {
  return compare(a, b, new Map());
}

function compare(a: unknown, b: unknown, seen: Map<unknown, unknown>): boolean {
  if (sameValueZero(a, b)) return true;
  if (isPrimitive(a) || isPrimitive(b)) return false;
  if (a instanceof Date && b instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (!samePrototype(a, b)) return false;

  if (a instanceof TypedArray) return sameElements(a as Indexed, b as Indexed);
  if (a instanceof ArrayBuffer || a instanceof SharedArrayBuffer) {
    return sameElements(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  }
  if (a instanceof WeakMap) throw new TypeError("Cannot compare WeakMap instances");
  if (a instanceof WeakSet) throw new TypeError("Cannot compare WeakSet instances");
  if (a instanceof WeakRef) return compare(a.deref(), (b as WeakRef<WeakKey>).deref(), seen);

  // A pair already under comparison higher up is assumed equal, so cycles terminate.
  if (seen.get(a) === b) return true;
  if (Object.keys(a).length !== Object.keys(b).length) return false;
  seen.set(a, b);

  if ((a instanceof Map || a instanceof Set) && (b instanceof Map || b instanceof Set)) {
    return sameCollection(a, b, seen);
  }

  const proto = Object.getPrototypeOf(a);
  let keys: Iterable<PropertyKey>;
  if (proto === null || proto === Object.prototype || proto === Array.prototype) {
    keys = ownKeys({ ...a, ...b });
  } else if (STRING_COMPARABLE.has(proto)) {
    return String(a) === String(b);
  } else {
    keys = keysDeep(a).union(keysDeep(b));
  }
  const x = a as Record<PropertyKey, unknown>;
  const y = b as Record<PropertyKey, unknown>;
  for (const key of keys) {
    if (!compare(x[key], y[key], seen)) return false;
    if ((key in x) !== (key in y)) return false;
  }
  return true;
}

function sameCollection(
  a: Map<unknown, unknown> | Set<unknown>,
  b: Map<unknown, unknown> | Set<unknown>,
  seen: Map<unknown, unknown>,
): boolean {
  if (a.size !== b.size) return false;
  const aKeys = [...a.keys()];
  if (aKeys.every(isPrimitive)) {
    if (a instanceof Set) return a.symmetricDifference(b as Set<unknown>).size === 0;
    const bMap = b as Map<unknown, unknown>;
    return aKeys.every((key) => bMap.has(key) && compare(a.get(key), bMap.get(key), seen));
  }
  // Object keys can only be matched by deep equality, so every pair is tried.
  let unmatched = a.size;
  for (const [aKey, aValue] of a.entries()) {
    for (const [bKey, bValue] of b.entries()) {
      if (!compare(aKey, bKey, seen)) continue;
      const setEntries = aKey === aValue && bKey === bValue;
      if (setEntries || compare(aValue, bValue, seen)) {
        unmatched--;
        break;
      }
    }
  }
  return unmatched === 0;
}

function sameValueZero(a: unknown, b: unknown): boolean {
  return a === b || Object.is(a, b);
}

function isPrimitive(x: unknown): boolean {
  return x === null || x === undefined || typeof x === "string" || typeof x === "number" ||
    typeof x === "boolean" || typeof x === "bigint" || typeof x === "symbol";
}

function samePrototype(a: object, b: object): boolean {
  const pa = Object.getPrototypeOf(a);
  const pb = Object.getPrototypeOf(b);
  return pa === pb || (pa === Object.prototype && pb === null) ||
    (pa === null && pb === Object.prototype);
}

function sameElements(a: Indexed, b: Indexed): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!sameValueZero(a[i], b[i])) return false;
  }
  return true;
}

function ownKeys(obj: object): PropertyKey[] {
  return [...Object.getOwnPropertyNames(obj), ...Object.getOwnPropertySymbols(obj)];
}

function keysDeep(obj: object): Set<PropertyKey> {
  const keys = new Set<PropertyKey>();
  for (
    let o: object | null = obj;
    o !== null && o !== Object.prototype && o !== Array.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const key of ownKeys(o)) keys.add(key);
  }
  return keys;
}
