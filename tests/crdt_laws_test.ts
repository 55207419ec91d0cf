// The lattice laws of every replicated data type, as fast-check properties:
// merge is commutative, associative and idempotent, the empty value is its
// identity, and the encoding round-trips and refuses what it did not make.
import fc from "fast-check";
import { assert, assertEquals, assertInstanceOf } from "@std/assert";
import { CrdtDecodeError, type ReplicatedData } from "../cluster/crdt/replicated_data.ts";
import { type CrdtCase, forEachCase, replicaStates } from "./_support/crdt_cases.ts";

function same<T extends ReplicatedData<T, unknown>>(a: T, b: T): boolean {
  return a.equals(b) && a.digest() === b.digest();
}

forEachCase(<T extends ReplicatedData<T, unknown>>(crdt: CrdtCase<T>) => {
  const one = replicaStates(crdt, 1).map(([state]) => state);
  const three = replicaStates(crdt, 3);

  Deno.test(`${crdt.name}: merge is commutative`, () => {
    fc.assert(fc.property(three, ([a, b]) => same(a.merge(b), b.merge(a))), { numRuns: 500 });
  });

  Deno.test(`${crdt.name}: merge is associative`, () => {
    fc.assert(
      fc.property(three, ([a, b, c]) => same(a.merge(b).merge(c), a.merge(b.merge(c)))),
      { numRuns: 500 },
    );
  });

  Deno.test(`${crdt.name}: merge is idempotent, and the empty value is its identity`, () => {
    fc.assert(
      fc.property(one, (a) =>
        same(a.merge(a), a) && same(a.merge(crdt.type.empty()), a) &&
        same(crdt.type.empty().merge(a), a)),
    );
  });

  Deno.test(`${crdt.name}: merging in a delta is absorbed by merging it again`, () => {
    fc.assert(
      fc.property(one, crdt.operation, (a, operation) => {
        const delta = operation(a, "r1", () => ({ ms: 30, counter: 0, replica: "r1" }));
        const once = a.merge(delta);
        return same(once.merge(delta), once) && same(delta.merge(a), once);
      }),
    );
  });

  Deno.test(`${crdt.name}: decode(encode(x)) is x, with the same value`, () => {
    fc.assert(
      fc.property(one, (a) => {
        const copy = crdt.type.decode(a.encode());
        assert(same(copy, a));
        assertEquals(copy.value, a.value);
      }),
    );
  });

  Deno.test(`${crdt.name}: arbitrary bytes decode or fail with CrdtDecodeError`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        try {
          const decoded = crdt.type.decode(bytes);
          assert(same(crdt.type.decode(decoded.encode()), decoded));
        } catch (error) {
          assertInstanceOf(error, CrdtDecodeError);
        }
      }),
    );
  });
});
