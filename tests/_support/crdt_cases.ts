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
  /** Local steps that are no deltas but shape the states merge must handle (collection). */
  local?: fc.Arbitrary<(state: T) => T>;
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
    local: fc.nat(25).map((horizon) => (state: LwwMap<unknown>) => state.collect(horizon)),
  } satisfies CrdtCase<LwwMap<unknown>>,
] as const;

/** A stamp from a small range, so that equal milliseconds and counters are common. */
const stamp: fc.Arbitrary<Timestamp> = fc.record({ ms: fc.nat(20), counter: fc.nat(2), replica });

/** Arbitrary reachable states of `crdt`: random operations (and local steps) folded by merge. */
export function states<T extends ReplicatedData<T, unknown>>(crdt: CrdtCase<T>): fc.Arbitrary<T> {
  const step: fc.Arbitrary<(state: T) => T> = fc.tuple(crdt.operation, replica, stamp).map(
    ([operation, id, at]) => (state: T) => state.merge(operation(state, id, () => at)),
  );
  const steps = crdt.local ? fc.oneof({ arbitrary: step, weight: 4 }, crdt.local) : step;
  return fc.array(steps, { maxLength: 12 }).map((all) =>
    all.reduce((state, apply) => apply(state), crdt.type.empty())
  );
}
