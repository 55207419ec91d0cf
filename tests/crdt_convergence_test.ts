// Convergence of every replicated data type under a hostile network: N
// replicas with their own (skewed, backwards-stepping) clocks do random
// operations; their deltas are lost, duplicated and reordered; one round of
// full-state anti-entropy then makes every replica equal, and equal to a
// replica that saw every delta in order.
import fc from "fast-check";
import { assert, assertEquals } from "@std/assert";
import { GCounter } from "../cluster/crdt/g_counter.ts";
import { HybridClock } from "../cluster/crdt/hlc.ts";
import type { ReplicatedData } from "../cluster/crdt/replicated_data.ts";
import { type CrdtCase, forEachCase } from "./_support/crdt_cases.ts";

/** A small deterministic PRNG (mulberry32), so fast-check's seed decides every delivery. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Removes and returns a random item. */
function takeAny<T>(items: T[], next: () => number): T {
  const [item] = items.splice(Math.floor(next() * items.length), 1);
  return item;
}

forEachCase(<T extends ReplicatedData<T, unknown>>(crdt: CrdtCase<T>) => {
  Deno.test(`${crdt.name}: lossy, duplicating, reordering delivery + one anti-entropy round converge`, () => {
    const step = fc.record({
      replica: fc.nat(4),
      operation: crdt.operation,
      // The wall clock of the replica moves by this much first, backwards too.
      clockStep: fc.integer({ min: -10, max: 20 }),
      deliveries: fc.nat(3),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 5 }),
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (size, steps, seed) => {
          const next = random(seed);
          const walls = Array.from({ length: size }, (_, i) => 1_000 + i * 7);
          const clocks = walls.map((_, i) =>
            new HybridClock(`r${i}`, { now: () => walls[i], maxSkewMs: 15 })
          );
          const replicas = walls.map(() => crdt.type.empty());
          let reference = crdt.type.empty();
          const inFlight: { to: number; delta: T }[] = [];
          const deliver = () => {
            const { to, delta } = takeAny(inFlight, next);
            replicas[to] = replicas[to].merge(delta);
          };
          for (const { replica, operation, clockStep, deliveries } of steps) {
            const i = replica % size;
            walls[i] += clockStep;
            const delta = operation(replicas[i], `r${i}`, () => clocks[i].now());
            replicas[i] = replicas[i].merge(delta);
            reference = reference.merge(delta);
            for (let to = 0; to < size; to++) {
              if (to === i) continue;
              const copies = Math.floor(next() * 3); // 0 (lost), 1, or 2 (duplicated)
              for (let c = 0; c < copies; c++) inFlight.push({ to, delta });
            }
            for (let d = 0; d < deliveries && inFlight.length > 0; d++) deliver();
          }
          while (inFlight.length > 0 && next() < 0.9) deliver();
          const snapshot = replicas.map((state) => crdt.type.decode(state.encode()));
          const healed = replicas.map((state) => snapshot.reduce((a, b) => a.merge(b), state));
          for (const state of healed) {
            assert(state.equals(reference));
            assertEquals(state.digest(), reference.digest());
            assertEquals(state.value, reference.value);
          }
        },
      ),
    );
  });

  Deno.test(`${crdt.name}: deltas need no causal delivery`, () => {
    fc.assert(
      fc.property(
        fc.array(crdt.operation, { minLength: 1, maxLength: 15 }),
        fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }),
        fc.integer(),
        (operations, received, seed) => {
          const clock = new HybridClock("writer");
          let writer = crdt.type.empty();
          const deltas = operations.map((operation) => {
            const delta = operation(writer, "writer", () => clock.now());
            writer = writer.merge(delta);
            return delta;
          });
          const subset = deltas.filter((_, i) => received[i]);
          const next = random(seed);
          const shuffled = [...subset];
          let reader = crdt.type.empty();
          while (shuffled.length > 0) reader = reader.merge(takeAny(shuffled, next));
          const inOrder = subset.reduce((a, b) => a.merge(b), crdt.type.empty());
          assert(reader.equals(inOrder));
        },
      ),
    );
  });
});

Deno.test("GCounter: a delta carries the writer's count, so earlier lost deltas do not matter", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(9), { minLength: 2, maxLength: 20 }), (amounts) => {
      let writer = GCounter.empty();
      let last = writer;
      for (const by of amounts) {
        last = writer.increment("writer", by);
        writer = writer.merge(last);
      }
      // A reader that got none of the earlier deltas still sees every increment.
      assertEquals(GCounter.empty().merge(last).value, writer.value);
    }),
  );
});
