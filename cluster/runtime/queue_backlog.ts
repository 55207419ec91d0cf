/**
 * Brings backlogged tickets back into their queue, with no sweep: a ticket
 * that found its queue full stays in the store, open and unassigned, and
 * the queue records that a backlog exists. After each committed (or loaded)
 * state of such a queue below its low-water mark, the oldest of those
 * tickets not already in the queue are read from the ticket projection and
 * sent as ordinary `arrive` commands; a search that finds fewer than there
 * is room for tells the queue `backlog_drained`, which it takes only if no
 * ticket overflowed since the state the search started from.
 *
 * @module
 */
import {
  type ActorAddress,
  defaultRoutingSettings,
  type Priority,
  type TenantSettings,
} from "../../actors/decider.ts";
import {
  backlogRoom,
  itemAt,
  itemKey,
  type QueueCommand,
  type QueueState,
} from "../../actors/queue.ts";
import { ticketItem } from "../../actors/ticket.ts";
import type { ActorRequest, ActorResponse } from "../protocol.ts";
import type { EventStore, UnassignedTicket } from "../store/event_store.ts";
import { actorKey } from "../actor_key.ts";
import { collectWanted } from "./_owned_rows.ts";

/** Options of {@linkcode QueueBacklog}. */
export interface QueueBacklogOptions {
  store: Pick<EventStore, "unassignedTickets">;
  /** The tenant's settings, for its queue's `maxWaiting`. */
  tenantSettings: (tenant: string) => Promise<TenantSettings>;
  /** Sends a command to the queue actor's owner. */
  deliver: (request: ActorRequest) => Promise<ActorResponse>;
  /** Rows read per store query. @default {200} */
  pageSize?: number;
  /** Arrivals sent at once. @default {16} */
  concurrency?: number;
  /** Called with how many backlogged tickets a search sent back to their queue. */
  onReturned?: (count: number) => void;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

interface Latest {
  address: ActorAddress;
  state: QueueState;
}

/** Refills queues with backlogged tickets as they find room. */
export class QueueBacklog {
  #options: QueueBacklogOptions & { pageSize: number; concurrency: number };
  /** The newest state of each queue with a backlog. */
  #latest = new Map<string, Latest>();
  #refilling = new Set<string>();
  // Command ids must not repeat a predecessor's after a failover.
  #instance = crypto.randomUUID().slice(0, 8);
  #sent = 0;
  #closed = false;

  constructor(options: QueueBacklogOptions) {
    this.#options = { pageSize: 200, concurrency: 16, ...options };
  }

  /** Take a queue actor's state, once committed (or loaded). */
  observe(address: ActorAddress, state: unknown): void {
    if (address.kind !== "queue" || this.#closed) return;
    const key = actorKey(address);
    if (!(state as QueueState).backlog?.open) {
      this.#latest.delete(key);
      return;
    }
    this.#latest.set(key, { address, state: state as QueueState });
    if (!this.#refilling.has(key)) this.#refill(key);
  }

  /** Start no more refills; those in flight finish. */
  close(): void {
    this.#closed = true;
  }

  // One refill per queue at a time, going on while the newest state wants more.
  async #refill(key: string): Promise<void> {
    this.#refilling.add(key);
    try {
      for (let queue = this.#latest.get(key); queue && !this.#closed;) {
        const settings = await this.#options.tenantSettings(queue.address.tenant);
        // Decided on the newest state only, so no turn committed meanwhile goes unseen.
        const newest: Latest | undefined = this.#latest.get(key);
        if (newest !== queue) {
          queue = newest;
          continue;
        }
        const { maxWaiting } = settings.routing ?? defaultRoutingSettings;
        const wanted = backlogRoom(queue.state, maxWaiting);
        if (!wanted) return;
        const tickets = await this.#search(queue.state, wanted.room);
        await this.#arrive(queue.address, tickets);
        if (tickets.length > 0) this.#options.onReturned?.(tickets.length);
        if (tickets.length < wanted.room) {
          const drained = { type: "backlog_drained", generation: wanted.generation } as const;
          await this.#send(queue.address, drained, "drained");
        }
        const next = this.#latest.get(key);
        // Nothing committed meanwhile: the queue's next turn starts again, no spinning.
        if (next === queue) return;
        queue = next;
      }
    } catch (error) {
      this.#options.onError?.("backlog refill failed", { actor: key, error: String(error) });
    } finally {
      this.#refilling.delete(key);
    }
  }

  // The oldest unassigned tickets the queue does not know, at most `room`.
  #search(state: QueueState, room: number): Promise<UnassignedTicket[]> {
    const { store, pageSize } = this.#options;
    return collectWanted(
      (after) => store.unassignedTickets(state.tenant, pageSize, after),
      (ticket) => !itemAt(state.items, itemKey({ kind: "ticket", id: ticket.id })),
      { pageSize, limit: room },
    );
  }

  async #arrive(address: ActorAddress, tickets: UnassignedTicket[]): Promise<void> {
    const { concurrency } = this.#options;
    for (let at = 0; at < tickets.length; at += concurrency) {
      await Promise.all(
        tickets.slice(at, at + concurrency).map(({ id, doc }) => {
          const item = ticketItem(id, {
            priority: (doc.priority ?? "normal") as Priority,
            tags: Array.isArray(doc.tags) ? doc.tags as string[] : [],
            team: typeof doc.team === "string" ? doc.team : null,
          });
          return this.#send(address, { type: "arrive", item }, `arrive:${id}`);
        }),
      );
    }
  }

  async #send(address: ActorAddress, command: QueueCommand, what: string): Promise<void> {
    const response = await this.#options.deliver({
      address,
      op: "command",
      command,
      commandId: `s:backlog:${what}:${this.#instance}:${++this.#sent}`,
      deadline: Date.now() + 10_000,
    });
    if (!response.ok) {
      this.#options.onError?.("backlog command refused", {
        actor: actorKey(address),
        command: command.type,
        error: response.error,
      });
    }
  }
}
