/**
 * Agent presence (status and capacity), held by the edges for now: each
 * edge announces the agents whose sockets it holds on the tenant's presence
 * subject, at every change and periodically; every edge keeps what it hears
 * for a while (forgotten once it expires), so any edge can tell how many
 * agents of a tenant are online.
 *
 * @module
 */
import { subjects } from "../../cluster/transport/subjects.ts";
import type { Subscription, Transport } from "../../cluster/transport/transport.ts";

/** An agent's availability. */
export type AgentStatus = "online" | "away" | "offline";

interface Announcement {
  tenant: string;
  sub: string;
  status: AgentStatus;
  capacity: number;
  edge: string;
}

/** Options of {@linkcode Presence}. */
export interface PresenceOptions {
  bus: Transport;
  cluster: string;
  /** This edge's id. */
  edge: string;
  /** How often local agents are announced again. */
  announceMs?: number;
  /** How long an announcement counts without being repeated. */
  ttlMs?: number;
}

/** Announces local agents and remembers everyone's. */
export class Presence {
  #options: Required<PresenceOptions>;
  #subjects: ReturnType<typeof subjects>;
  /** tenant → sub → status of agents whose sockets this edge holds. */
  #local = new Map<string, Map<string, Announcement>>();
  /** tenant → `edge/sub` → what was heard and when. */
  #heard = new Map<string, Map<string, { announcement: Announcement; at: number }>>();
  #subscription: Subscription;
  /** `tenant/sub` → sockets this edge holds for the agent. */
  #sockets = new Map<string, number>();
  #timer: ReturnType<typeof setInterval>;

  constructor(options: PresenceOptions) {
    this.#options = { announceMs: 5000, ttlMs: 15_000, ...options };
    this.#subjects = subjects(options.cluster);
    this.#timer = setInterval(() => {
      this.#announceAll();
      this.#forgetExpired();
    }, this.#options.announceMs);
    // Every tenant's presence, from the start: an edge must know who is online
    // before its first visitor of a tenant arrives, not only after.
    this.#subscription = options.bus.subscribe(this.#subjects.everyPresence, (payload) => {
      const announcement = payload as Announcement;
      const heard = this.#heard.get(announcement.tenant) ?? new Map();
      heard.set(`${announcement.edge}/${announcement.sub}`, { announcement, at: Date.now() });
      this.#heard.set(announcement.tenant, heard);
    });
  }

  /** An agent's socket opened here: the first one makes it online. */
  connect(tenant: string, sub: string): void {
    const key = `${tenant}/${sub}`;
    const sockets = (this.#sockets.get(key) ?? 0) + 1;
    this.#sockets.set(key, sockets);
    if (sockets === 1) this.set(tenant, sub, "online");
  }

  /** An agent's socket closed here: with its last one it goes offline. */
  release(tenant: string, sub: string): void {
    const key = `${tenant}/${sub}`;
    const sockets = (this.#sockets.get(key) ?? 1) - 1;
    if (sockets > 0) return void this.#sockets.set(key, sockets);
    this.#sockets.delete(key);
    this.set(tenant, sub, "offline");
  }

  /** Set a local agent's status; `offline` forgets it after announcing so. */
  set(tenant: string, sub: string, status: AgentStatus, capacity = 1): void {
    const announcement = { tenant, sub, status, capacity, edge: this.#options.edge };
    const local = this.#local.get(tenant) ?? new Map();
    if (status === "offline") local.delete(sub);
    else local.set(sub, announcement);
    this.#local.set(tenant, local);
    this.#options.bus.publish(this.#subjects.presence(tenant), announcement);
  }

  /** Agents of the tenant online on any edge, as far as this edge has heard. */
  onlineAgents(tenant: string): number {
    const cutoff = Date.now() - this.#options.ttlMs;
    const online = new Set<string>();
    for (const { announcement, at } of this.#heard.get(tenant)?.values() ?? []) {
      if (at >= cutoff && announcement.status === "online") online.add(announcement.sub);
    }
    for (const announcement of this.#local.get(tenant)?.values() ?? []) {
      if (announcement.status === "online") online.add(announcement.sub);
    }
    return online.size;
  }

  /** Announcements heard and not yet expired, of every tenant and edge. */
  get heard(): number {
    let count = 0;
    for (const heard of this.#heard.values()) count += heard.size;
    return count;
  }

  /** Stop announcing and listening. */
  close(): void {
    clearInterval(this.#timer);
    this.#subscription.close();
  }

  // An agent that went away without an `offline` (its edge died) is heard of
  // no more: drop what expired, and tenants with nothing left.
  #forgetExpired(): void {
    const cutoff = Date.now() - this.#options.ttlMs;
    for (const [tenant, heard] of this.#heard) {
      for (const [key, { at }] of heard) if (at < cutoff) heard.delete(key);
      if (heard.size === 0) this.#heard.delete(tenant);
    }
  }

  #announceAll(): void {
    for (const [tenant, local] of this.#local) {
      for (const announcement of local.values()) {
        this.#options.bus.publish(this.#subjects.presence(tenant), announcement);
      }
    }
  }
}
