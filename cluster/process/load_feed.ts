/**
 * Agent load (open chats and tickets per agent) on the replicated `load`
 * map, fed by the events this node commits (DESIGN §6: for dashboards and estimates; exact
 * capacity is the queue actor's).
 *
 * Exactly once per event: a node counts only the events it committed itself,
 * once each, after the commit (fencing makes a second commit of the same
 * event impossible, on this node or another). Its net counts are written
 * under its own key, `nodeId:incarnation`, so a node that restarts adds a new
 * key instead of overwriting the counts of its previous life.
 *
 * @module
 */
import type { ActorAddress, Projection } from "../../actors/decider.ts";
import type { NewEvent } from "../store/event_store.ts";
import { agentOfKey, type LoadEntry, loadKey, type SharedState } from "./shared_state.ts";

/** A change of one agent's open chats or tickets. */
export interface LoadChange {
  agent: string;
  chats: number;
  tickets: number;
}

/**
 * The load changes a committed batch of one actor's events implies; `row`
 * is the actor's projection after the batch (who holds it at the end).
 */
export function loadChanges(
  address: ActorAddress,
  events: readonly NewEvent[],
  row: Projection | null,
): LoadChange[] {
  if (address.kind === "session") return chatChanges(events, row);
  if (address.kind === "ticket") return ticketChanges(events, row);
  return [];
}

// An assignment moves a chat to its agent (from the previous one); a close
// takes it from the agent who held it.
function chatChanges(events: readonly NewEvent[], row: Projection | null): LoadChange[] {
  const changes: LoadChange[] = [];
  let holder: string | null = null;
  for (const { type, data } of events) {
    if (type === "assigned") {
      if (typeof data.previous === "string") changes.push(chats(data.previous, -1));
      holder = String(data.agent);
      changes.push(chats(holder, 1));
    } else if (type === "closed") {
      const agent = holder ?? row?.assignee ?? null;
      if (agent !== null) changes.push(chats(agent, -1));
    }
  }
  return changes;
}

const doneTickets = new Set(["resolved", "closed"]);

// A ticket counts for its assignee while it is not resolved or closed; it
// is assigned, transferred and unassigned only while open.
function ticketChanges(events: readonly NewEvent[], row: Projection | null): LoadChange[] {
  const changes: LoadChange[] = [];
  let holder: string | null = null;
  for (const { type, data } of events) {
    if (type === "assigned") {
      if (typeof data.previous === "string") changes.push(tickets(data.previous, -1));
      holder = String(data.agent);
      changes.push(tickets(holder, 1));
    } else if (type === "transferred") {
      const { from, to } = data as { from?: { agent?: unknown }; to?: { agent?: unknown } };
      if (typeof from?.agent === "string") changes.push(tickets(from.agent, -1));
      holder = typeof to?.agent === "string" ? to.agent : null;
      if (holder !== null) changes.push(tickets(holder, 1));
    } else if (type === "unassigned") {
      changes.push(tickets(String(data.agent), -1));
      holder = null;
    } else if (type === "status_changed") {
      const agent = holder ?? row?.assignee ?? null;
      const [was, is] = [doneTickets.has(String(data.from)), doneTickets.has(String(data.to))];
      if (agent !== null && was !== is) changes.push(tickets(agent, is ? -1 : 1));
    }
  }
  return changes;
}

function chats(agent: string, by: number): LoadChange {
  return { agent, chats: by, tickets: 0 };
}

function tickets(agent: string, by: number): LoadChange {
  return { agent, chats: 0, tickets: by };
}

/** Feeds a node's committed events into the `load` map. */
export class LoadFeed {
  readonly #shared: SharedState;
  readonly #counter: string;
  /** `tenant` → agent → this incarnation's net counts. */
  readonly #counts = new Map<string, Map<string, LoadEntry>>();

  constructor(shared: SharedState, nodeId: string) {
    this.#shared = shared;
    this.#counter = `${nodeId}:${crypto.randomUUID().slice(0, 8)}`;
  }

  /** Count a committed batch (the host's `onCommitted`). */
  committed(address: ActorAddress, events: readonly NewEvent[], row: Projection | null): void {
    const changes = loadChanges(address, events, row);
    if (changes.length === 0) return;
    let tenant = this.#counts.get(address.tenant);
    if (!tenant) this.#counts.set(address.tenant, tenant = new Map());
    const touched = new Set<string>();
    for (const { agent, chats, tickets } of changes) {
      const counts = tenant.get(agent) ?? { chats: 0, tickets: 0 };
      tenant.set(agent, { chats: counts.chats + chats, tickets: counts.tickets + tickets });
      touched.add(agent);
    }
    for (const agent of touched) {
      const counts = tenant.get(agent)!;
      this.#shared.load.update(
        address.tenant,
        (map) => map.put(loadKey(agent, this.#counter), counts, this.#shared.clock.now()),
      );
    }
  }
}

/** The open chats and tickets of each of `tenant`'s agents, summed over every counter. */
export function loadOf(shared: SharedState, tenant: string): Map<string, LoadEntry> {
  const totals = new Map<string, LoadEntry>();
  for (const [key, { chats, tickets }] of shared.load.get(tenant).value) {
    const agent = agentOfKey(key);
    const total = totals.get(agent) ?? { chats: 0, tickets: 0 };
    totals.set(agent, { chats: total.chats + chats, tickets: total.tickets + tickets });
  }
  return totals;
}
