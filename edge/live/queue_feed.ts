/**
 * What a tenant's queue actor publishes after its changes (positions,
 * estimated waits, offers out), shared by an edge's sockets: one
 * subscription per tenant, and the latest update kept for sockets that
 * arrive later.
 *
 * @module
 */
import type { QueueUpdate } from "../../cluster/runtime/queue_publisher.ts";
import { subjects } from "../../cluster/transport/subjects.ts";
import type { Subscription, Transport } from "../../cluster/transport/transport.ts";

export type { QueueUpdate };

/** A waiting chat's place, as the queue last told it. */
export interface ChatPlace {
  position: number;
  estimatedWaitMs: number | null;
  /** Chats waiting in all. */
  waiting: number;
}

/** The latest update of a queue, indexed for lookups. */
export interface QueueSnapshot {
  update: QueueUpdate;
  place(conversation: string): ChatPlace | null;
}

/** Receives every update of a tenant's queue. */
export type QueueListener = (snapshot: QueueSnapshot) => void;

interface Tenant {
  listeners: Set<QueueListener>;
  subscription: Subscription;
  latest?: QueueSnapshot;
}

/** Shares one queue subscription per tenant among an edge's sockets. */
export class QueueFeed {
  #bus: Transport;
  #subjects: ReturnType<typeof subjects>;
  #tenants = new Map<string, Tenant>();

  constructor(bus: Transport, cluster: string) {
    this.#bus = bus;
    this.#subjects = subjects(cluster);
  }

  /** Follow a tenant's queue; the returned function stops. */
  watch(tenant: string, listener: QueueListener): () => void {
    let entry = this.#tenants.get(tenant);
    if (!entry) {
      const created: Tenant = {
        listeners: new Set(),
        subscription: this.#bus.subscribe(this.#subjects.queue(tenant), (payload) => {
          created.latest = snapshotOf(payload as QueueUpdate);
          for (const each of created.listeners) each(created.latest);
        }),
      };
      entry = created;
      this.#tenants.set(tenant, entry);
    }
    entry.listeners.add(listener);
    return () => {
      const current = this.#tenants.get(tenant);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      current.subscription.close();
      this.#tenants.delete(tenant);
    };
  }

  /** The tenant's latest queue update, if this edge has heard one. */
  latest(tenant: string): QueueSnapshot | undefined {
    return this.#tenants.get(tenant)?.latest;
  }
}

function snapshotOf(update: QueueUpdate): QueueSnapshot {
  const chats = Array.isArray(update?.chats) ? update.chats : [];
  const index = new Map(chats.map((chat) => [chat.id, chat]));
  return {
    update: { chats, offers: Array.isArray(update?.offers) ? update.offers : [] },
    place(conversation) {
      const chat = index.get(conversation);
      return chat
        ? { position: chat.position, estimatedWaitMs: chat.estimatedWaitMs, waiting: chats.length }
        : null;
    },
  };
}
