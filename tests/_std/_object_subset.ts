/**
 * The projection behind `assertObjectMatch`: the part of `actual` that has the
 * shape of `expected`, following the rules of `jsr:@std/assert`.
 *
 * @module
 */

type Loose = Record<PropertyKey, unknown>;

/**
 * Copy `actual`, keeping only the keys `shape` has, recursively. Arrays keep
 * their first `shape.length` items, maps their shared keys, sets their common
 * values. Class instances come back as plain objects, so projecting `expected`
 * onto itself yields a value that deep-equals a matching projection.
 */
export function objectSubset(actual: Loose, shape: Loose): Loose {
  const seen = new WeakMap<object, unknown>();

  function subsetObject(a: Loose, b: Loose): Loose {
    if (seen.get(a) === b) return a;
    try {
      seen.set(a, b);
    } catch (error) {
      if (error instanceof TypeError) {
        throw new TypeError(`Cannot assertObjectMatch ${a === null ? null : `type ${typeof a}`}`);
      }
    }
    const out: Loose = {};
    const keysA = Reflect.ownKeys(a);
    const keysB = new Set(Reflect.ownKeys(b));
    const shared = keysA.filter((key) => keysB.has(key));
    // Disjoint non-empty objects keep all of `a`, so the mismatch shows in the diff.
    const kept = keysA.length > 0 && keysB.size > 0 && shared.length === 0 ? keysA : shared;
    for (const key of kept) {
      define(out, key, shared.length === 0 ? a[key] : subsetValue(a[key], b[key]));
    }
    return out;
  }

  function subsetArray(a: unknown[], b: unknown[]): unknown[] {
    if (seen.get(a) === b) return a;
    seen.set(a, b);
    const count = Math.min(a.length, b.length);
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) out.push(subsetValue(a[i], b[i]));
    return out;
  }

  function subsetValue(value: unknown, shape: unknown): unknown {
    // A RegExp's pattern and flags are not own keys; projecting would erase them.
    if (value instanceof RegExp) return value;
    if (Array.isArray(value) && Array.isArray(shape)) return subsetArray(value, shape);
    if (!isObject(value) || !isObject(shape)) return value;
    if (value instanceof Map && shape instanceof Map) {
      return new Map(
        [...value].filter(([k]) => shape.has(k)).map(([k, v]) => {
          const s = shape.get(k);
          return [k, isObject(v) && isObject(s) ? subsetObject(v as Loose, s as Loose) : v];
        }),
      );
    }
    if (value instanceof Set && shape instanceof Set) return value.intersection(shape);
    return subsetObject(value as Loose, shape as Loose);
  }

  return subsetObject(actual, shape);
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}

function define(target: Loose, key: PropertyKey, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    configurable: true,
    enumerable: true,
    writable: true,
  });
}
