// Every replicated data type as one case the CRDT property tests run over:
// how to build it, which operations a replica may do, and arbitrary states.
import fc from "fast-check";
import { GCounter } from "../../cluster/crdt/g_counter.ts";
import type { Timestamp } from "../../cluster/crdt/hlc.ts";
import { LwwMap } from "../../cluster/crdt/lww_map.ts";
import { LwwRegister } from "../../cluster/crdt/lww_register.ts";
import { MaxRegister } from "../../cluster/crdt/max_register.ts";
import { PNCounter } from "../../cluster/crdt/pn_counter.ts";
import type { ReplicatedData, ReplicatedDataType } from "../../cluster/crdt/replicated_data.ts";

/** What one replica does: given its state, its id and its clock, the delta to ship. */
export type Operation<T> = (state: T, replica: string, stamp: () => Timestamp) => T;

/** One type under test. */
export interface CrdtCase<T extends ReplicatedData<T, unknown>> {
  name: string;
  type: ReplicatedDataType<T>;
  /** Delta mutations, the ones replicas ship. */
  operation: fc.Arbitrary<Operation<T>>;
  /** Garbage collection up to a horizon, for the types that have it: a local step, no delta. */
  collect?: (state: T, horizonMs: number) => T;
}

// Few replicas, keys and values, so that states overlap and ties happen.
const replica = fc.constantFrom("r0", "r1", "r2");
const key = fc.constantFrom("ana", "bo", "cy", "di");
/** A small value of any MessagePack shape a register may hold. */
export const smallValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom("online", "away", ""),
  fc.integer({ min: 0, max: 3 }),
  fc.record({ status: fc.constantFrom("online", "away"), capacity: fc.nat(3) }),
);
const amount = fc.nat(5);

/** Runs `suite` over every type, each with its own `T`. */
export function forEachCase(
  suite: <T extends ReplicatedData<T, unknown>>(crdt: CrdtCase<T>) => void,
): void {
  suite(cases[0]);
  suite(cases[1]);
  suite(cases[2]);
  suite(cases[3]);
  suite(cases[4]);
}

const cases = [
  {
    name: "GCounter",
    type: GCounter,
    operation: amount.map((by): Operation<GCounter> => (state, id) => state.increment(id, by)),
  } satisfies CrdtCase<GCounter>,
  {
    name: "PNCounter",
    type: PNCounter,
    operation: fc.tuple(fc.boolean(), amount).map(([up, by]): Operation<PNCounter> =>
      up ? (state, id) => state.increment(id, by) : (state, id) => state.decrement(id, by)
    ),
  } satisfies CrdtCase<PNCounter>,
  {
    name: "MaxRegister",
    type: MaxRegister,
    operation: fc.nat(50).map((to): Operation<MaxRegister> => (state) => state.raise(to)),
  } satisfies CrdtCase<MaxRegister>,
  {
    name: "LwwRegister",
    type: { empty: () => LwwRegister.empty<unknown>(), decode: (b) => LwwRegister.decode(b) },
    operation: smallValue.map((value): Operation<LwwRegister<unknown>> => (state, _, stamp) =>
      state.set(value, stamp())
    ),
  } satisfies CrdtCase<LwwRegister<unknown>>,
  {
    name: "LwwMap",
    type: { empty: () => LwwMap.empty<unknown>(), decode: (b) => LwwMap.decode(b) },
    operation: fc.oneof(
      fc.tuple(key, smallValue).map(([k, value]): Operation<LwwMap<unknown>> => (state, _, stamp) =>
        state.put(k, value, stamp())
      ),
      key.map((k): Operation<LwwMap<unknown>> => (state, _, stamp) => state.remove(k, stamp())),
    ),
    collect: (state, horizonMs) => state.collect(horizonMs),
  } satisfies CrdtCase<LwwMap<unknown>>,
] as const;

/** A stamp from a small range, so that equal milliseconds and counters are common. */
const stamp: fc.Arbitrary<Timestamp> = fc.record({ ms: fc.nat(20), counter: fc.nat(2), replica });

const historyLength = 12;

/**
 * `count` states of `crdt` replicas that took part in one history: random
 * operations, each replica having seen a random subset of their deltas. A
 * replica of a collecting type may have collected up to a horizon, and then
 * (the assumption collection rests on, see LwwMap) it saw every delta
 * stamped before that horizon.
 */
export function replicaStates<T extends ReplicatedData<T, unknown>>(
  crdt: CrdtCase<T>,
  count: number,
): fc.Arbitrary<T[]> {
  const view = fc.record({
    seen: fc.array(fc.boolean(), { minLength: historyLength, maxLength: historyLength }),
    horizon: fc.option(fc.nat(25), { nil: undefined }),
  });
  return fc.tuple(
    fc.array(fc.tuple(crdt.operation, replica, stamp), { maxLength: historyLength }),
    fc.array(view, { minLength: count, maxLength: count }),
  ).map(([history, views]) => {
    let everything = crdt.type.empty();
    const deltas = history.map(([operation, id, at]) => {
      const delta = operation(everything, id, () => at);
      everything = everything.merge(delta);
      return { delta, ms: at.ms };
    });
    return views.map(({ seen, horizon }) => {
      const collect = crdt.collect && horizon !== undefined ? crdt.collect : undefined;
      const state = deltas
        .filter(({ ms }, i) => seen[i] || (collect && ms < horizon!))
        .reduce((state, { delta }) => state.merge(delta), crdt.type.empty());
      return collect ? collect(state, horizon!) : state;
    });
  });
}
