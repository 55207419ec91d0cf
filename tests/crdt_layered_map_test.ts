// The layered map under LwwMap behaves as a plain map through any sequence
// of versions, across compactions, and never changes an older version.
import { assertEquals } from "@std/assert";
import fc from "fast-check";
import { LayeredMap } from "../cluster/crdt/_layered_map.ts";

const updates = fc.array(
  fc.array(
    fc.tuple(fc.integer({ min: 0, max: 200 }), fc.option(fc.integer(), { nil: undefined })),
    {
      maxLength: 40,
    },
  ),
  { maxLength: 30 },
);

function sorted<K, V>(map: Iterable<[K, V]>): [K, V][] {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

Deno.test("LayeredMap: every version reads like the plain map it stands for", () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 200 })), updates, (seed, steps) => {
    let reference = new Map(seed.map((key) => [key, key]));
    let layered = LayeredMap.of(new Map(reference));
    const versions: [LayeredMap<number, number>, [number, number][]][] = [];
    for (const step of steps) {
      layered = layered.with(step);
      reference = new Map(reference);
      for (const [key, value] of step) {
        if (value === undefined) reference.delete(key);
        else reference.set(key, value);
      }
      versions.push([layered, sorted(reference)]);
      assertEquals(layered.size, reference.size);
      for (let key = 0; key <= 200; key++) {
        assertEquals(layered.get(key), reference.get(key));
        assertEquals(layered.has(key), reference.has(key));
      }
    }
    for (const [version, expected] of versions) {
      assertEquals(sorted(version), expected);
      assertEquals(
        sorted([...version.keys()].map((k, i) => [k, [...version.values()][i]])),
        expected,
      );
    }
  }));
});
