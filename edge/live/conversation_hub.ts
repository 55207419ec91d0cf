/**
 * One bus subscription per watched conversation on this edge, shared by all
 * its sockets watching it: committed events (from the owning node, after
 * commit) and ephemeral signals (typing, read markers, from edges). Pushes
 * are best effort, so the hub also asks watched conversations' owners for
 * their heads (newest message numbers): a socket that has not seen the head
 * backfills, so a lost last push is found without a later one.
 *
 * All of a check's conversations go in one call, which the cluster's backend
 * makes one request per owner node.
 *
 * When: every watched conversation at once after this edge's bus reconnects
 * or the cluster's nodes change ({@linkcode ConversationHub.checkAll}), the
 * two ways pushes are lost in bulk (a dropped connection, a node killed
 * between its commit and its publish); and every `headCheckMs` those that
 * had no push since the last check (a busy conversation's gaps show in its
 * own pushes), so a lost last push is found within two intervals, and live
 * chats cost no reads.
 *
 * @module
 */
import type { Backend, ConversationHead } from "../../cluster/protocol.ts";
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

/** A conversation's newest message numbers, as its owner reports them. */
export type HeadUpdate = ConversationHead & { kind: "head" };

/** Anything a watcher of a conversation hears. */
export type ConversationUpdate = ConversationEvent | ConversationSignal | HeadUpdate;

/** Receives what happens in a watched conversation. */
export type ConversationListener = (update: ConversationUpdate) => void;

/** Options of {@linkcode ConversationHub}. */
export interface ConversationHubOptions {
  /** Where heads are read; without it there are no head checks. */
  backend?: Backend;
  /** How often each watched conversation's head is read. @default 10000 */
  headCheckMs?: number;
  /** How long a head read may take. @default 5000 */
  requestTimeoutMs?: number;
}

interface Watched {
  tenant: string;
  id: string;
  listeners: Set<ConversationListener>;
  subscriptions: Subscription[];
  /** A committed event arrived since the last head check. */
  heard: boolean;
}

/** Shares conversation subscriptions among an edge's sockets. */
export class ConversationHub {
  #bus: Transport;
  #subjects: ReturnType<typeof subjects>;
  #watched = new Map<string, Watched>();
  #backend?: Backend;
  #requestTimeoutMs: number;
  #headTimer?: ReturnType<typeof setInterval>;

  constructor(bus: Transport, cluster: string, options: ConversationHubOptions = {}) {
    this.#bus = bus;
    this.#subjects = subjects(cluster);
    this.#backend = options.backend;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 5000;
    if (this.#backend) {
      this.#headTimer = setInterval(() => this.#checkHeads(), options.headCheckMs ?? 10_000);
    }
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
      const fanOut = (update: ConversationUpdate) => this.#fanOut(key, update);
      const created: Watched = watched = {
        tenant,
        id,
        listeners: new Set(),
        heard: false,
        subscriptions: [
          this.#bus.subscribe(this.#subjects.conversation(tenant, id), (payload) => {
            created.heard = true;
            fanOut({ kind: "event", ...(payload as Omit<ConversationEvent, "kind">) });
          }),
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

  /** Stop the head checks. */
  close(): void {
    clearInterval(this.#headTimer);
  }

  #fanOut(key: string, update: ConversationUpdate): void {
    for (const each of this.#watched.get(key)?.listeners ?? []) each(update);
  }

  /** Ask for the head of every watched conversation now, pushed to lately or not. */
  checkAll(): void {
    if (!this.#backend) return;
    this.#readHeads([...this.#watched]);
  }

  #checkHeads(): void {
    const quiet: [string, Watched][] = [];
    for (const entry of this.#watched) {
      if (entry[1].heard) entry[1].heard = false;
      else quiet.push(entry);
    }
    if (quiet.length > 0) this.#readHeads(quiet);
  }

  // All at once: the backend asks each owner node once for its share.
  #readHeads(watched: [string, Watched][]): void {
    const addresses = watched.map(([, { tenant, id }]) => ({ kind: "session", tenant, id }));
    this.#backend!.heads(addresses, Date.now() + this.#requestTimeoutMs).then((heads) => {
      heads.forEach((head, i) => {
        if (head) this.#fanOut(watched[i][0], { kind: "head", ...head });
      });
    }).catch(() => {});
  }
}
