// The hybrid logical clock: monotonic whatever the wall clock does, refusing
// to follow a remote clock too far ahead, and ordering every timestamp.
import fc from "fast-check";
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  compareTimestamps,
  decodeTimestamp,
  encodeTimestamp,
  HybridClock,
  type Timestamp,
} from "../cluster/crdt/hlc.ts";
import { CrdtDecodeError } from "../cluster/crdt/replicated_data.ts";

const maxSkewMs = 100;

/** A local event after moving the wall clock, or a remote timestamp within the skew. */
const event = fc.oneof(
  fc.record({ kind: fc.constant("local" as const), step: fc.integer({ min: -50, max: 30 }) }),
  fc.record({
    kind: fc.constant("remote" as const),
    step: fc.integer({ min: -50, max: 30 }),
    ahead: fc.integer({ min: -200, max: maxSkewMs }),
    counter: fc.nat(5),
  }),
);

Deno.test("HLC: timestamps strictly increase, even while the wall clock steps backwards", () => {
  fc.assert(
    fc.property(fc.array(event, { maxLength: 60 }), (events) => {
      let wall = 10_000;
      const clock = new HybridClock("a", { now: () => wall, maxSkewMs });
      let previous: Timestamp = { ms: 0, counter: 0, replica: "a" };
      for (const e of events) {
        wall += e.step;
        const stamp = e.kind === "local"
          ? clock.now()
          : clock.observe({ ms: wall + e.ahead, counter: e.counter, replica: "b" });
        assert(compareTimestamps(previous, stamp) < 0);
        assert(stamp.ms >= wall);
        if (e.kind === "remote") {
          const remote = { ms: wall + e.ahead, counter: e.counter, replica: "b" };
          assert(compareTimestamps(remote, stamp) < 0);
        }
        previous = stamp;
      }
      assertEquals(clock.clamped, 0);
    }),
  );
});

Deno.test("HLC: a remote timestamp beyond the allowed skew is clamped and counted", () => {
  let wall = 5_000;
  const clock = new HybridClock("a", { now: () => wall, maxSkewMs });
  const far = clock.observe({ ms: wall + 3_600_000, counter: 9, replica: "b" });
  assertEquals(far, { ms: wall + maxSkewMs, counter: 1, replica: "a" });
  assertEquals(clock.clamped, 1);
  clock.observe({ ms: wall + maxSkewMs, counter: 0, replica: "b" });
  assertEquals(clock.clamped, 1);
  wall += 1;
  assert(compareTimestamps(far, clock.now()) < 0);
});

Deno.test("HLC: clocks in one process are independent", () => {
  let wallA = 1_000;
  const a = new HybridClock("a", { now: () => wallA });
  const b = new HybridClock("b", { now: () => 50 });
  a.now();
  wallA = 2_000;
  assertEquals(a.now(), { ms: 2_000, counter: 0, replica: "a" });
  assertEquals(b.now(), { ms: 50, counter: 0, replica: "b" });
  assertEquals(b.now(), { ms: 50, counter: 1, replica: "b" });
});

const timestamp: fc.Arbitrary<Timestamp> = fc.record({
  ms: fc.nat(),
  counter: fc.nat(3),
  replica: fc.constantFrom("a", "b", "c"),
});

Deno.test("HLC: compare is a total order that only ties a timestamp with itself", () => {
  fc.assert(
    fc.property(timestamp, timestamp, timestamp, (x, y, z) => {
      assertEquals(Math.sign(compareTimestamps(x, y)), -Math.sign(compareTimestamps(y, x)));
      assertEquals(compareTimestamps(x, y) === 0, JSON.stringify(x) === JSON.stringify(y));
      if (compareTimestamps(x, y) <= 0 && compareTimestamps(y, z) <= 0) {
        assert(compareTimestamps(x, z) <= 0);
      }
    }),
  );
});

Deno.test("HLC: the encoding round-trips and refuses anything else", () => {
  fc.assert(fc.property(timestamp, (t) => assertEquals(decodeTimestamp(encodeTimestamp(t)), t)));
  assert(encodeTimestamp({ ms: Date.now(), counter: 3, replica: "edge-1" }).length <= 18);
  assertThrows(() => decodeTimestamp(new Uint8Array([0x93, 1, 2])), CrdtDecodeError);
  assertThrows(() => decodeTimestamp(new Uint8Array([0x93, 0xff, 0, 0xa1, 0x61])), CrdtDecodeError);
});
