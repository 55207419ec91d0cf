/**
 * A turn's events, folded into the activation, become one append request:
 * the events, their outbox commands, and the snapshot, timers and projection
 * of the resulting state.
 *
 * @module
 */
import type { AppendRequest, NewEvent, OutboxEntry, TimerChanges } from "../store/event_store.ts";
import type { Projection, TimerSpec } from "../../actors/decider.ts";
import type { Activation } from "./_activation.ts";

/** What {@linkcode foldIntoAppend} produced. */
export interface FoldedTurn {
  append: AppendRequest;
  /** The stored events, for watchers once committed. */
  stored: NewEvent[];
  outbox: OutboxEntry[];
  /** The projection row of the new state, if the decider has one. */
  row: Projection | null | undefined;
}

/**
 * Fold `events` into the activation (state, sequence, timers, snapshot
 * mark) and describe what must be appended for them.
 */
export function foldIntoAppend(
  activation: Activation,
  commandId: string,
  events: { type: string }[],
  options: { now: number; snapshotEvery: number },
): FoldedTurn {
  const { decider } = activation;
  const { now } = options;
  const expectedSeq = activation.seq;
  const stored: NewEvent[] = [];
  const outbox: OutboxEntry[] = [];
  let state = activation.state;
  for (const event of events) {
    state = decider.evolve(state, event);
    const seq = ++activation.seq;
    stored.push({
      seq,
      type: event.type,
      data: event as Record<string, unknown>,
      commandId,
      at: now,
    });
    for (
      const [idx, effect] of (decider.effects?.(state, event, activation.address) ?? []).entries()
    ) {
      outbox.push({ actorKey: activation.key, seq, idx, ...effect, createdAt: now });
    }
  }
  activation.state = state;
  const seq = activation.seq;

  const append: AppendRequest = { actorKey: activation.key, expectedSeq, events: stored };
  if (outbox.length > 0) append.outbox = outbox;
  const wanted = new Map((decider.timers?.(state) ?? []).map(({ name, at }) => [name, at]));
  const timers = timerChanges(activation.timers, wanted);
  if (timers) append.timers = timers;
  activation.timers = wanted;
  const row = decider.project?.(state);
  if (row) {
    const { kind, tenant, id } = activation.address;
    append.projection = { key: { kind, tenant, id }, row };
  }
  if (seq - activation.snapshotSeq >= snapshotInterval(activation.snapshotBytes, options)) {
    append.snapshot = { seq, state };
    activation.snapshotSeq = seq;
    activation.snapshotBytes = JSON.stringify(state).length;
  }
  return { append, stored, outbox, row };
}

/** Snapshot bytes a large state may spread over each event until its next snapshot. */
export const snapshotBytesPerEvent = 512;

/**
 * Events between two snapshots of a state whose last snapshot was `bytes`
 * long: `snapshotEvery`, or for a large state as many as keep the snapshot's
 * share of each event under {@linkcode snapshotBytesPerEvent}, at most ten
 * times `snapshotEvery` so a load replays a bounded log. A queue holding
 * 1,000 tickets is a 370 KB state: every 100 events, that was 3.7 KB written
 * per event, and parsing and compressing it was 40% of the append's Postgres
 * time per ticket create.
 */
export function snapshotInterval(bytes: number, options: { snapshotEvery: number }): number {
  const { snapshotEvery } = options;
  return Math.min(
    10 * snapshotEvery,
    Math.max(snapshotEvery, Math.ceil(bytes / snapshotBytesPerEvent)),
  );
}

// What turns the stored timers into the wanted ones, or nothing when they
// are the same: a queue wants one timer per waiting item, and a turn changes
// one or two of them, so only those rows are written.
function timerChanges(
  stored: Map<string, number>,
  wanted: Map<string, number>,
): TimerChanges | undefined {
  const set: TimerSpec[] = [];
  for (const [name, at] of wanted) if (stored.get(name) !== at) set.push({ name, at });
  const gone = [...stored.keys()].filter((name) => !wanted.has(name));
  return set.length > 0 || gone.length > 0 ? { set, delete: gone } : undefined;
}
