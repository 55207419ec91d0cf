// LwwMap tombstones and their collection after a horizon: what is dropped,
// what must not come back, and the stated assumption's edge.
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import { HybridClock, type Timestamp } from "../cluster/crdt/hlc.ts";
import { LwwMap } from "../cluster/crdt/lww_map.ts";

function at(ms: number, replica = "a"): Timestamp {
  return { ms, counter: 0, replica };
}

const empty = LwwMap.empty<string>();

Deno.test("LwwMap: a removal beats an earlier write delivered after it", () => {
  const write = empty.put("ana", "online", at(10, "b"));
  const removed = empty.merge(empty.remove("ana", at(20)));
  assertEquals(removed.merge(write).get("ana"), undefined);
  assertEquals(removed.merge(empty.put("ana", "away", at(30, "b"))).get("ana"), "away");
});

Deno.test("LwwMap: collection drops tombstones before the horizon, keeps the rest", () => {
  const map = [
    empty.put("ana", "online", at(5)),
    empty.put("bo", "online", at(6)),
    empty.remove("bo", at(10)),
    empty.put("cy", "away", at(11)),
    empty.remove("cy", at(40)),
  ].reduce((a, b) => a.merge(b));
  const collected = map.collect(30);
  assertEquals(collected.tombstones, 1);
  assertEquals(collected.floor, 30);
  assertEquals([...collected.value], [["ana", "online"]]);
  assert(collected.encode().length < map.encode().length);
});

Deno.test("LwwMap: after collection, a late write older than the horizon does not resurrect", () => {
  const write = empty.put("ana", "online", at(5, "b"));
  const collected = empty.merge(write).merge(empty.remove("ana", at(10))).collect(30);
  // The same write again: a duplicated delta, or in the full state of a replica that never
  // saw the removal.
  assertEquals(collected.merge(write).get("ana"), undefined);
  assertEquals(write.merge(collected).get("ana"), undefined);
  assertEquals(collected.merge(empty.merge(write)).value.size, 0);
  // A write after the horizon is a new write and does apply.
  assertEquals(collected.merge(empty.put("ana", "back", at(31, "b"))).get("ana"), "back");
});

Deno.test("LwwMap: a live entry older than the horizon survives merges with collected maps", () => {
  const old = empty.put("ana", "online", at(5));
  const everyone = empty.merge(old);
  const collected = everyone.merge(empty.remove("bo", at(6))).collect(30);
  assertEquals(collected.merge(everyone).get("ana"), "online");
  assertEquals(everyone.merge(collected).get("ana"), "online");
});

Deno.test("LwwMap: the assumption's edge: a write delayed past the horizon is lost", () => {
  // Replica b wrote at 20, but its delta reached no one before the others collected at 30:
  // the collecting side cannot tell it from a write its collected tombstone had beaten.
  const collected = empty.merge(empty.remove("bo", at(25))).collect(30);
  assertEquals(collected.merge(empty.put("ana", "online", at(20, "b"))).get("ana"), undefined);
  // Delivered within the horizon, the same write is kept.
  assertEquals(
    empty.merge(empty.put("ana", "online", at(20, "b"))).collect(30).get("ana"),
    "online",
  );
});

Deno.test("LwwMap: entry digests depend on the entry alone", () => {
  const shared = empty.put("ana", "online", at(5, "z"));
  const one = shared.merge(empty.put("bo", "x", at(6, "a")));
  const other = shared.merge(empty.put("cy", "y", at(7, "m")));
  assertEquals(one.entryDigests().get("ana"), other.entryDigests().get("ana"));
  assert(one.entryDigests().get("bo") !== other.entryDigests().get("cy"));
  assert(one.digest() !== other.digest());
});

const key = fc.constantFrom("ana", "bo", "cy");
/** A put or a removal by one of three replicas at a time in 0..49. */
const write = fc.record({
  key,
  value: fc.option(fc.constantFrom("online", "away"), { nil: undefined }),
  ms: fc.nat(49),
  counter: fc.nat(1),
  replica: fc.constantFrom("a", "b", "c"),
});

Deno.test("LwwMap: under the horizon assumption, collecting replicas converge on the collected reference", () => {
  fc.assert(
    fc.property(
      fc.array(write, { minLength: 1, maxLength: 25 }),
      fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 3, maxLength: 3 }),
      fc.array(fc.nat(24), { maxLength: 10 }),
      (writes, horizons, late) => {
        const deltas = writes.map(({ key, value, ...stamp }) =>
          value === undefined ? empty.remove(key, stamp) : empty.put(key, value, stamp)
        );
        const reference = deltas.reduce((a, b) => a.merge(b), empty);
        // Every write reached every replica before any of them collected (the assumption)…
        const replicas = horizons.map((horizon) => reference.collect(horizon));
        // …then old deltas turn up again, after the collection…
        const delayed = replicas.map((state) =>
          late.reduce((s, i) => s.merge(deltas[i % deltas.length]), state)
        );
        // …and one anti-entropy round.
        const expected = reference.collect(Math.max(...horizons));
        for (const state of delayed) {
          const healed = delayed.reduce((a, b) => a.merge(b), state);
          assert(healed.equals(expected));
          assertEquals(healed.value, expected.value);
        }
      },
    ),
  );
});

Deno.test("LwwMap: maps one key apart differ in one bucket; picking it repairs the other", () => {
  const clock = new HybridClock("a");
  let a = LwwMap.empty<number>();
  for (let i = 0; i < 500; i++) a = a.merge(a.put(`agent-${i}`, i, clock.now()));
  const b = a.merge(a.put("agent-7", -1, clock.now())).merge(a.remove("agent-9", clock.now()));
  const mine = a.bucketDigests(64);
  const theirs = b.bucketDigests(64);
  const differing = mine.flatMap((digest, i) => (digest === theirs[i] ? [] : [i]));
  assert(differing.length >= 1 && differing.length <= 2);
  const part = b.pick(differing, 64);
  assert(part.encode().length * 10 < b.encode().length);
  assert(a.merge(part).equals(b));
  assertEquals(a.merge(part).digest(), b.digest());
  assert(a.digest() !== b.digest());
});

Deno.test("LwwMap: digests carried through merges equal digests computed afresh", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.boolean()), { maxLength: 60 }),
    (steps) => {
      const clock = new HybridClock("a");
      let map = LwwMap.empty<number>();
      map.digest(); // from here on the sums are carried, not recomputed
      for (const [key, remove] of steps) {
        const stamp = clock.now();
        map = map.merge(remove ? map.remove(`k${key}`, stamp) : map.put(`k${key}`, key, stamp));
        const fresh = LwwMap.decode<number>(map.encode());
        assertEquals(map.digest(), fresh.digest());
        assertEquals(map.bucketDigests(), fresh.bucketDigests());
      }
    },
  ));
});
