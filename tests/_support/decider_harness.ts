/**
 * Given/when helpers for testing a {@linkcode Decider} without the runtime:
 * they fold decide + evolve over commands the way the host does, so a test
 * reads as the commands an actor saw and what it decided.
 *
 * @module
 */
import { assertEquals, fail } from "@std/assert";
import type {
  ActorAddress,
  Decider,
  Decision,
  Rejection,
  TenantSettings,
  TimerCommand,
} from "../../actors/decider.ts";
import type { Caller } from "../../actors/decider.ts";

/** One minute in milliseconds. */
export const MIN = 60_000;
/** When every run starts: a Monday morning, so deadlines are easy to read. */
export const T0: number = Date.UTC(2025, 0, 6, 9);

/** A visitor. */
export const vera: Caller = { sub: "vera", role: "visitor" };
/** Another visitor. */
export const sam: Caller = { sub: "sam", role: "visitor" };
/** An agent. */
export const alice: Caller = { sub: "alice", role: "agent" };
/** Another agent. */
export const bob: Caller = { sub: "bob", role: "agent" };
/** A supervisor. */
export const sue: Caller = { sub: "sue", role: "supervisor" };
/** An admin. */
export const ada: Caller = { sub: "ada", role: "admin" };

/** The command the runtime delivers when the timer `name` due at `at` fires. */
export const timer = (name: string, at: number): TimerCommand => ({ type: "timer", name, at });

/** A command with its turn's time, id or tenant, when the defaults will not do. */
export interface DeciderStep<C> {
  command: C | TimerCommand;
  at?: number;
  id?: string;
  tenant?: TenantSettings;
}

/** What a fold takes a turn for: a bare command, or a step. */
export type DeciderInput<C> = C | TimerCommand | DeciderStep<C>;

/** Where a fold got to: the state, the time, and all that was decided on the way. */
export interface DeciderRun<S, E> {
  state: S;
  now: number;
  events: E[];
  decisions: Decision<E>[];
}

/** What a suite decides with unless a step or call says otherwise. */
export interface HarnessDefaults {
  address: ActorAddress;
  tenant: TenantSettings;
}

/** The helpers {@linkcode deciderHarness} returns, typed by its decider. */
export interface DeciderHarness<S, C, E> {
  /** Fold decide + evolve over the inputs; time stands still unless a step moves it. */
  fold(inputs: DeciderInput<C>[], from?: DeciderRun<S, E>, at?: ActorAddress): DeciderRun<S, E>;
  /** Like {@linkcode DeciderHarness.fold}, but every command must be accepted. */
  given(inputs: DeciderInput<C>[], from?: DeciderRun<S, E>, at?: ActorAddress): DeciderRun<S, E>;
  /** The one decision for `input` after `run`, and the state it leads to. */
  when(
    run: DeciderRun<S, E>,
    input: DeciderInput<C>,
  ): { decision: Decision<E>; run: DeciderRun<S, E> };
  /** The rejection in `decision`, failing the test if it has events. */
  rejection(decision: Decision<E>): Rejection;
  /** The events in `decision`, failing the test if it is a rejection. */
  events(decision: Decision<E>): E[];
  /** Fold `events` from the initial state; inputs are deep-frozen so a mutating evolve throws. */
  replay(events: E[]): S;
  /**
   * Assert that `input` after `run` is accepted (`field` "ok") or refused
   * as a `validation` error naming `field`.
   */
  assertLimit(run: DeciderRun<S, E>, input: DeciderInput<C>, field: string): void;
}

/** Given/when helpers for `decider`, deciding at `defaults.address` for `defaults.tenant`. */
export function deciderHarness<S, C extends { type: string }, E extends { type: string }>(
  decider: Decider<S, C, E>,
  defaults: HarnessDefaults,
): DeciderHarness<S, C, E> {
  // Distinct ids across the whole suite, as the runtime would see from clients.
  let commandIds = 0;

  function fold(
    inputs: DeciderInput<C>[],
    from?: DeciderRun<S, E>,
    at: ActorAddress = defaults.address,
  ): DeciderRun<S, E> {
    let state = from?.state ?? decider.initial(at);
    let now = from?.now ?? T0;
    const events: E[] = [];
    const decisions: Decision<E>[] = [];
    for (const input of inputs) {
      const step: DeciderStep<C> = "command" in input ? input : { command: input };
      now = step.at ?? now;
      const ctx = {
        now,
        actor: at,
        commandId: step.id ?? `cmd-${++commandIds}`,
        tenant: step.tenant ?? defaults.tenant,
      };
      const decision = decider.decide(state, step.command, ctx);
      decisions.push(decision);
      if ("events" in decision) {
        for (const event of decision.events) state = decider.evolve(state, event);
        events.push(...decision.events);
      }
    }
    return { state, now, events, decisions };
  }

  const harness: DeciderHarness<S, C, E> = {
    fold,
    given(inputs, from, at) {
      const run = fold(inputs, from, at);
      run.decisions.forEach((decision, i) => {
        if ("reject" in decision) {
          fail(`setup step ${i} rejected: ${JSON.stringify(decision.reject)}`);
        }
      });
      return run;
    },
    when(run, input) {
      const next = fold([input], run);
      return { decision: next.decisions[0], run: next };
    },
    rejection(decision) {
      if (!("reject" in decision)) fail(`expected a rejection, got ${JSON.stringify(decision)}`);
      return decision.reject;
    },
    events(decision) {
      if (!("events" in decision)) fail(`expected events, got ${JSON.stringify(decision.reject)}`);
      return decision.events;
    },
    replay(events) {
      return events.reduce(
        (state, event) => decider.evolve(freeze(state), freeze(structuredClone(event))),
        decider.initial(defaults.address),
      );
    },
    assertLimit(run, input, field) {
      const { decision } = harness.when(run, input);
      if (field === "ok") {
        harness.events(decision);
        return;
      }
      const refused = harness.rejection(decision);
      assertEquals([refused.code, refused.field], ["validation", field]);
    },
  };
  return harness;
}

function freeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    Object.values(value).forEach(freeze);
    Object.freeze(value);
  }
  return value;
}
