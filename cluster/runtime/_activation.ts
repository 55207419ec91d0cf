/**
 * One actor's activation: its state rebuilt from the log, where its log
 * stands, and its mailbox.
 *
 * @module
 */
import type { ActorAddress, Decider, Projection, TenantSettings } from "../../actors/decider.ts";
import type { ActorError } from "../protocol.ts";
import type { LoadedActor } from "../store/event_store.ts";
import type { Mailbox } from "./_mailbox.ts";
import { IdempotencyWindow } from "./_idempotency.ts";

// deno-lint-ignore no-explicit-any
export type AnyDecider = Decider<any, any, any>;

/** The in-memory side of one actor, owned by this node until retired. */
export interface Activation {
  key: string;
  address: ActorAddress;
  decider: AnyDecider;
  ready: Promise<void>;
  settings: TenantSettings;
  state: unknown;
  /** Sequence of the last event decided, committed or not. */
  seq: number;
  snapshotSeq: number;
  /** JSON length of the last snapshot this activation wrote (0 before its first). */
  snapshotBytes: number;
  /** The durable timers stored once the appends up to `seq` commit, name → due time. */
  timers: Map<string, number>;
  /** Status and assignee of the last projection, to tell watchers only of changes. */
  placed: string;
  mailbox: Mailbox;
  /** Turns decided but not yet answered. */
  inflight: number;
  /** Settles once every append so far is durable; rejects on the first failure. */
  gate: Promise<void>;
  /** Settles (never rejects) once every append so far has settled. */
  settled: Promise<void>;
  commands: IdempotencyWindow;
  failure: ActorError | null;
  lastUsed: number;
}

/** A new activation in the initial state, loaded once the host sets `ready`; its mailbox is the host's. */
export function newActivation(
  key: string,
  address: ActorAddress,
  decider: AnyDecider,
  options: { now: number; recentCommands: number },
): Omit<Activation, "mailbox"> {
  return {
    key,
    address,
    decider,
    ready: Promise.resolve(),
    settings: undefined as unknown as TenantSettings,
    state: decider.initial(address),
    seq: 0,
    snapshotSeq: 0,
    snapshotBytes: 0,
    timers: new Map(),
    placed: placement(null),
    inflight: 0,
    gate: Promise.resolve(),
    settled: Promise.resolve(),
    commands: new IdempotencyWindow(options.recentCommands),
    failure: null,
    lastUsed: options.now,
  };
}

/** Rebuild the activation's state from what the store holds. */
export function restore(activation: Activation, loaded: LoadedActor): void {
  const { decider } = activation;
  let state = loaded.snapshot
    ? (decider.revive?.(loaded.snapshot.state) ?? loaded.snapshot.state)
    : decider.initial(activation.address);
  for (const event of loaded.events) state = decider.evolve(state, event.data);
  activation.state = state;
  activation.seq = loaded.events.at(-1)?.seq ?? loaded.snapshot?.seq ?? 0;
  activation.snapshotSeq = loaded.snapshot?.seq ?? 0;
  activation.timers = new Map(loaded.timers.map(({ name, at }) => [name, at]));
  activation.placed = placement(decider.project?.(state));
  activation.commands.restore(loaded.idempotency);
}

/** What the decider answers for the current state. */
export function viewOf(activation: Activation): unknown {
  const { decider, state } = activation;
  return decider.view ? decider.view(state) : state;
}

/** What watchers are told about when it changes: status and assignee. */
export function placement(row: Projection | null | undefined): string {
  return row ? JSON.stringify([row.status, row.assignee]) : "";
}
