/**
 * Publishes what visitors and agents are shown of a tenant's queue after its
 * changes: each waiting chat's position and estimated wait, and the offers
 * out. A burst of turns publishes once: the latest state, at most every
 * `intervalMs` per queue.
 *
 * @module
 */
import type { ActorAddress } from "../../actors/decider.ts";
import { kindPositions, type QueueState } from "../../actors/queue.ts";
import type { Transport } from "../transport/transport.ts";
import { subjects } from "../transport/subjects.ts";

/** What a queue publishes: the message on the tenant's queue subject. */
export interface QueueUpdate {
  /** Waiting chats in order, with their positions (1 is next) and estimated waits. */
  chats: { id: string; position: number; estimatedWaitMs: number | null }[];
  /** Offers waiting for their agent's answer. */
  offers: { kind: "chat" | "ticket"; id: string; agent: string; deadline: number }[];
}

/** The most waiting chats one update lists; those behind are told on later updates. */
export const maxListedChats = 1_000;

/** What `state` shows at `now`. */
export function queueUpdate(state: QueueState, now: number): QueueUpdate {
  return {
    chats: kindPositions(state, "chat", now, maxListedChats).map((
      { item, position, estimatedWaitMs },
    ) => ({ id: item.id, position, estimatedWaitMs })),
    offers: Object.values(state.offers).map(({ item, agent, deadline }) => ({
      kind: item.kind,
      id: item.id,
      agent,
      deadline,
    })),
  };
}

/** Publishes queue updates on the bus, throttled per queue. */
export class QueuePublisher {
  #bus: Transport;
  #subjects: ReturnType<typeof subjects>;
  #intervalMs: number;
  #now: () => number;
  #pending = new Map<string, { address: ActorAddress; state: QueueState }>();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    bus: Transport,
    cluster: string,
    options: { intervalMs?: number; now?: () => number } = {},
  ) {
    this.#bus = bus;
    this.#subjects = subjects(cluster);
    this.#intervalMs = options.intervalMs ?? 100;
    this.#now = options.now ?? Date.now;
  }

  /** Take a queue actor's committed state; other kinds are ignored. */
  observe(address: ActorAddress, state: unknown): void {
    if (address.kind !== "queue") return;
    const key = `${address.tenant}/${address.id}`;
    this.#pending.set(key, { address, state: state as QueueState });
    if (this.#timers.has(key)) return;
    this.#flush(key);
  }

  /** Stop publishing; what is pending is dropped. */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#pending.clear();
  }

  // Publish now, then hold later states until the interval passes.
  #flush(key: string): void {
    const pending = this.#pending.get(key);
    this.#pending.delete(key);
    if (!pending) return void this.#timers.delete(key);
    const { address, state } = pending;
    this.#bus.publish(this.#subjects.queue(address.tenant), queueUpdate(state, this.#now()));
    this.#timers.set(key, setTimeout(() => this.#flush(key), this.#intervalMs));
  }
}
