/**
 * One bus subscription per watched conversation on this edge, shared by all
 * its sockets watching it: committed events (from the owning node, after
 * commit) and ephemeral signals (typing, read markers, from edges).
 *
 * @module
 */
import { subjects } from "../../cluster/transport/subjects.ts";
import type { Subscription, Transport } from "../../cluster/transport/transport.ts";

/** A committed event of a conversation, as its node publishes it. */
export interface ConversationEvent {
  kind: "event";
  seq: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

/** A relayed, unstored signal. */
export type ConversationSignal =
  | { kind: "typing"; sub: string; role: string; on: boolean }
  | { kind: "read"; sub: string; role: string; seq: number };

/** Receives what happens in a watched conversation. */
export type ConversationListener = (update: ConversationEvent | ConversationSignal) => void;

interface Watched {
  listeners: Set<ConversationListener>;
  subscriptions: Subscription[];
}

/** Shares conversation subscriptions among an edge's sockets. */
export class ConversationHub {
  #bus: Transport;
  #subjects: ReturnType<typeof subjects>;
  #watched = new Map<string, Watched>();

  constructor(bus: Transport, cluster: string) {
    this.#bus = bus;
    this.#subjects = subjects(cluster);
  }

  /** Conversations watched by at least one socket of this edge. */
  get size(): number {
    return this.#watched.size;
  }

  /** Watch a conversation; the returned function stops watching. */
  watch(tenant: string, id: string, listener: ConversationListener): () => void {
    const key = `${tenant}/${id}`;
    let watched = this.#watched.get(key);
    if (!watched) {
      const fanOut = (update: ConversationEvent | ConversationSignal) => {
        for (const each of this.#watched.get(key)?.listeners ?? []) each(update);
      };
      watched = {
        listeners: new Set(),
        subscriptions: [
          this.#bus.subscribe(
            this.#subjects.conversation(tenant, id),
            (payload) => fanOut({ kind: "event", ...(payload as Omit<ConversationEvent, "kind">) }),
          ),
          this.#bus.subscribe(
            this.#subjects.signals(tenant, id),
            (payload) => fanOut(payload as ConversationSignal),
          ),
        ],
      };
      this.#watched.set(key, watched);
    }
    watched.listeners.add(listener);
    return () => {
      const current = this.#watched.get(key);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      for (const subscription of current.subscriptions) subscription.close();
      this.#watched.delete(key);
    };
  }

  /** Relay a signal to every edge watching the conversation. */
  signal(tenant: string, id: string, signal: ConversationSignal): void {
    this.#bus.publish(this.#subjects.signals(tenant, id), signal);
  }
}
