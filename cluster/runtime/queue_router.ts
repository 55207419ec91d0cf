/**
 * Routing outside the turn, with no sweep: after each committed turn of a
 * queue actor (an arrival, a departure, a change of availability, a timer),
 * the routable work of its new state is put to the tenant's router, and
 * each answer goes back to the queue as a `route_decision` command that the
 * decider validates. One call is in flight per item, a few per queue.
 *
 * An answer the queue refuses (the agent's room went meanwhile) or that
 * changes nothing (`wait`) parks its item until the queue's state moves
 * again, so a router that keeps saying wait is not asked in a loop.
 *
 * @module
 */
import type { ActorAddress, TenantSettings } from "../../actors/decider.ts";
import {
  itemAt,
  itemKey,
  type QueueState,
  type RoutableWork,
  routableWork,
  routingInput,
  waitingCount,
} from "../../actors/queue.ts";
import type { ActorRequest, ActorResponse } from "../protocol.ts";
import { actorKey } from "../actor_key.ts";
import type { Router } from "./routing.ts";
import { routeDecision, routeRequest } from "./_route_request.ts";

/** Options of {@linkcode QueueRouter}. */
export interface QueueRouterOptions {
  router: Router;
  /** The tenant's settings, for its choice of router. */
  tenantSettings: (tenant: string) => Promise<TenantSettings>;
  /** Sends a command to the queue actor's owner. */
  deliver: (request: ActorRequest) => Promise<ActorResponse>;
  /** Router calls in flight per queue. @default {16} */
  concurrency?: number;
  now?: () => number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

interface Queue {
  address: ActorAddress;
  state: QueueState;
  /** Counts the states seen, so a parked item knows when the state moved. */
  version: number;
  inFlight: Set<string>;
  /** Items asked about, by the version they were asked on. */
  parked: Map<string, number>;
  pumping: boolean;
}

/** Puts the routable work of committed queue states to the router. */
export class QueueRouter {
  #options: Required<Omit<QueueRouterOptions, "onError">> & QueueRouterOptions;
  #queues = new Map<string, Queue>();
  // Attempt ids must not repeat a predecessor's after a failover, whose
  // idempotency records the queue still holds.
  #instance = crypto.randomUUID().slice(0, 8);
  #attempts = 0;
  #closed = false;

  constructor(options: QueueRouterOptions) {
    this.#options = { concurrency: 16, now: Date.now, ...options };
  }

  /** Take a queue actor's state, once committed (or loaded), and route what it can. */
  observe(address: ActorAddress, state: unknown): void {
    if (address.kind !== "queue" || this.#closed) return;
    const key = actorKey(address);
    const queue = this.#queues.get(key) ??
      {
        address,
        state: state as QueueState,
        version: 0,
        inFlight: new Set(),
        parked: new Map(),
        pumping: false,
      };
    queue.state = state as QueueState;
    queue.version++;
    // Items no longer waiting are forgotten, in sweeps rare enough to cost nothing per turn.
    const items = queue.state.items;
    if (queue.parked.size > 64 + 2 * waitingCount(queue.state)) {
      for (const key of queue.parked.keys()) {
        if (itemAt(items, key)?.holder !== null) queue.parked.delete(key);
      }
    }
    this.#queues.set(key, queue);
    this.#schedule(queue);
  }

  /** Stop starting router calls; those in flight finish. */
  close(): void {
    this.#closed = true;
  }

  // Turns commit in batches: one pass over the state per batch, not per turn.
  #schedule(queue: Queue): void {
    if (queue.pumping) return;
    queue.pumping = true;
    queueMicrotask(() => {
      queue.pumping = false;
      if (!this.#closed) this.#pump(queue);
    });
  }

  #pump(queue: Queue): void {
    const { concurrency } = this.#options;
    if (queue.inFlight.size >= concurrency) return;
    const now = this.#options.now();
    // Taken lazily: a full queue costs the few items asked about, not all that wait.
    for (const work of routableWork(queue.state, now)) {
      if (queue.inFlight.size >= concurrency) break;
      const key = itemKey(work.item);
      if (queue.inFlight.has(key) || queue.parked.get(key) === queue.version) continue;
      queue.inFlight.add(key);
      const version = queue.version;
      // Whatever the answer, the item waits for a newer state: an assignment
      // commits one, and so does whatever made the queue refuse.
      this.#attempt(queue, work, now).then(() => {
        queue.inFlight.delete(key);
        queue.parked.set(key, version);
        this.#schedule(queue);
      });
    }
  }

  async #attempt(queue: Queue, work: RoutableWork, now: number): Promise<void> {
    const { address, state } = queue;
    const item = { kind: work.item.kind, id: work.item.id };
    try {
      const settings = await this.#options.tenantSettings(address.tenant);
      const request = routeRequest(routingInput(state, work, now), now);
      const outcome = await this.#options.router.route(
        address.tenant,
        settings.routing ?? {},
        request,
      );
      const response = await this.#options.deliver({
        address,
        op: "command",
        command: routeDecision(item, outcome),
        commandId: `s:route:${item.kind}:${item.id}:${this.#instance}:${++this.#attempts}`,
        deadline: this.#options.now() + 10_000,
      });
      if (!response.ok && response.error.code !== "route_refused") {
        this.#options.onError?.("route decision failed", {
          actor: actorKey(address),
          item: itemKey(item),
          error: response.error,
        });
      }
    } catch (error) {
      this.#options.onError?.("routing failed", {
        actor: actorKey(address),
        item: itemKey(item),
        error: String(error),
      });
    }
  }
}
