// The map of max registers keeps the three laws and reads as the maximum per key.
import { assertEquals, assertThrows } from "@std/assert";
import fc from "fast-check";
import { MaxMap } from "../cluster/crdt/max_map.ts";
import { CrdtDecodeError } from "../cluster/crdt/replicated_data.ts";

const maxMap = fc.array(fc.tuple(fc.constantFrom("a", "b", "c/x y", ""), fc.nat(50)), {
  maxLength: 6,
}).map((raises) =>
  raises.reduce((map, [key, to]) => map.merge(map.raise(key, to)), MaxMap.empty())
);

Deno.test("MaxMap: merge is commutative, associative and idempotent, and survives its encoding", () => {
  fc.assert(fc.property(maxMap, maxMap, maxMap, (a, b, c) => {
    assertEquals(a.merge(b).encode(), b.merge(a).encode());
    assertEquals(a.merge(b).merge(c).encode(), a.merge(b.merge(c)).encode());
    assertEquals(a.merge(a).encode(), a.encode());
    assertEquals(MaxMap.decode(a.encode()).encode(), a.encode());
  }));
});

Deno.test("MaxMap: each key holds the highest value raised to, on any replica", () => {
  fc.assert(fc.property(fc.array(fc.nat(100), { minLength: 1 }), (values) => {
    const merged = values.map((to) => MaxMap.empty().raise("k", to))
      .reduce((map, delta) => map.merge(delta), MaxMap.empty());
    assertEquals(merged.get("k"), Math.max(...values));
    assertEquals(merged.get("other"), 0);
  }));
  assertThrows(() => MaxMap.empty().raise("k", -1), RangeError);
  assertThrows(() => MaxMap.decode(new Uint8Array([0xc1])), CrdtDecodeError);
});
