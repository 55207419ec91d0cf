// What a queue turn needs of its state without a pass over every item: the
// waiting items of each kind in queue order, and what each agent holds. It is
// derived, never stored: kept beside each state object (states are immutable
// values, so a WeakMap is a pure cache) and carried from a state to the next
// by `evolve` at the cost of the items an event touched; a state that came
// from elsewhere (a snapshot, a copy) gets it rebuilt once, on first use.
import type { Priority } from "./decider.ts";
import type { ItemKind, PerKind, QueueItem, QueueState } from "./_queue_types.ts";
import { allItems, itemAt } from "./_queue_items.ts";

const PRIORITY_RANK: Record<Priority, number> = { urgent: 0, high: 1, normal: 2, low: 3 };

/** The state's key for an item: kinds have separate id spaces. */
export function itemKey(item: { kind: ItemKind; id: string }): string {
  return `${item.kind}:${item.id}`;
}

/** The capacity and load field of a kind of work. */
export function slot(kind: ItemKind): "chats" | "tickets" {
  return kind === "chat" ? "chats" : "tickets";
}

/** Queue order: priority, then time waited, then key for a stable order. */
export function queueOrder(a: QueueItem, b: QueueItem): number {
  return PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
    a.arrivedAt - b.arrivedAt ||
    (itemKey(a) < itemKey(b) ? -1 : itemKey(a) > itemKey(b) ? 1 : 0);
}

/** The derived data of one state; treat as read-only. */
export interface QueueIndex {
  /** Waiting items of each kind, in queue order. */
  waiting: Record<ItemKind, readonly QueueItem[]>;
  /** What each agent holding anything holds, by kind. */
  held: ReadonlyMap<string, Readonly<PerKind>>;
  /** Waiting items with a relaxation step still to come, so timers skip the scan without. */
  relaxing: number;
}

/** Whether `item` waits for a relaxation step (unless an offer is out for it). */
export function awaitsRelaxation(item: QueueItem): boolean {
  return item.holder === null && item.escalated === null &&
    item.relaxation[item.relaxed] !== undefined;
}

const indexes = new WeakMap<QueueState, QueueIndex>();

/** The index of `state`, built on first use. */
export function indexOf(state: QueueState): QueueIndex {
  let index = indexes.get(state);
  if (!index) {
    index = build(state);
    indexes.set(state, index);
  }
  return index;
}

function build(state: QueueState): QueueIndex {
  const waiting: Record<ItemKind, QueueItem[]> = { chat: [], ticket: [] };
  const held = new Map<string, PerKind>();
  let relaxing = 0;
  for (const item of allItems(state.items)) {
    if (item.holder === null) waiting[item.kind].push(item);
    else addHeld(held, item, 1);
    if (awaitsRelaxation(item)) relaxing++;
  }
  waiting.chat.sort(queueOrder);
  waiting.ticket.sort(queueOrder);
  return { waiting, held, relaxing };
}

/**
 * Give `next` the index of `previous` with the items under `touched` keys
 * brought up to date: each moves out of its old place and into its new one
 * by binary search. Nothing happens if `previous` has no index yet (`next`
 * then builds its own when asked), nor when nothing changed.
 */
export function carryIndex(previous: QueueState, next: QueueState, touched: string[]): void {
  const index = indexes.get(previous);
  if (!index || next === previous) return;
  if (next.items === previous.items) return void indexes.set(next, index);
  const waiting = { ...index.waiting };
  let held: Map<string, PerKind> | null = null;
  const copied = new Set<ItemKind>();
  let relaxing = index.relaxing;
  const edit = (kind: ItemKind): QueueItem[] => {
    if (!copied.has(kind)) {
      waiting[kind] = [...waiting[kind]];
      copied.add(kind);
    }
    return waiting[kind] as QueueItem[];
  };
  for (const key of new Set(touched)) {
    const before = itemAt(previous.items, key);
    const after = itemAt(next.items, key);
    if (before === after) continue;
    if (before) {
      if (before.holder === null) {
        // An item not where the index says leaves `next` to build its own.
        if (!remove(edit(before.kind), before)) return;
      } else addHeld(held ??= copyHeld(index.held), before, -1);
      if (awaitsRelaxation(before)) relaxing--;
    }
    if (after) {
      if (after.holder === null) insert(edit(after.kind), after);
      else addHeld(held ??= copyHeld(index.held), after, 1);
      if (awaitsRelaxation(after)) relaxing++;
    }
  }
  indexes.set(next, { waiting, held: held ?? index.held, relaxing });
}

function copyHeld(held: ReadonlyMap<string, Readonly<PerKind>>): Map<string, PerKind> {
  return new Map([...held].map(([agent, counts]) => [agent, { ...counts }]));
}

function addHeld(held: Map<string, PerKind>, item: QueueItem, delta: number): void {
  const agent = item.holder!;
  const counts = held.get(agent) ?? { chats: 0, tickets: 0 };
  counts[slot(item.kind)] += delta;
  if (counts.chats === 0 && counts.tickets === 0) held.delete(agent);
  else held.set(agent, counts);
}

// The first place whose item does not come before `item`.
function placeOf(sorted: QueueItem[], item: QueueItem): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (queueOrder(sorted[mid], item) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

function insert(sorted: QueueItem[], item: QueueItem): void {
  sorted.splice(placeOf(sorted, item), 0, item);
}

function remove(sorted: QueueItem[], item: QueueItem): boolean {
  const at = placeOf(sorted, item);
  if (sorted[at] !== item) return false;
  sorted.splice(at, 1);
  return true;
}

/** The waiting items of both kinds merged into queue order, each list taken in order. */
export function* inQueueOrder(lists: readonly (readonly QueueItem[])[]): Generator<QueueItem> {
  const at = lists.map(() => 0);
  while (true) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      if (at[i] >= lists[i].length) continue;
      if (best < 0 || queueOrder(lists[i][at[i]], lists[best][at[best]]) < 0) best = i;
    }
    if (best < 0) return;
    yield lists[best][at[best]++];
  }
}
