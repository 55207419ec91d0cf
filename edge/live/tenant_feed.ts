/**
 * The status of a tenant's conversations as this edge knows it: every
 * change the nodes publish (queued, assigned, closed), and the waiting
 * queue derived from it, read once from the store when the tenant's first
 * socket arrives.
 *
 * @module
 */
import type { Backend } from "../../cluster/protocol.ts";
import { subjects } from "../../cluster/transport/subjects.ts";
import type { Subscription, Transport } from "../../cluster/transport/transport.ts";

/** What a node publishes of a conversation after each commit. */
export interface SessionSummary {
  id: string;
  status: string;
  agent: string | null;
  createdAt?: number;
  [field: string]: unknown;
}

/** Receives every change of a tenant's conversations. */
export type SummaryListener = (summary: SessionSummary) => void;

interface Tenant {
  listeners: Set<SummaryListener>;
  subscription: Subscription;
  /** Waiting conversations by id, with the time they started waiting. */
  queued: Map<string, number>;
}

/** Shares one subscription per tenant among an edge's sockets. */
export class TenantFeed {
  #bus: Transport;
  #backend: Backend;
  #subjects: ReturnType<typeof subjects>;
  #tenants = new Map<string, Tenant>();

  constructor(bus: Transport, backend: Backend, cluster: string) {
    this.#bus = bus;
    this.#backend = backend;
    this.#subjects = subjects(cluster);
  }

  /** Follow a tenant's conversations; the returned function stops. */
  watch(tenant: string, listener: SummaryListener): () => void {
    let entry = this.#tenants.get(tenant);
    if (!entry) {
      const queued = new Map<string, number>();
      const created: Tenant = {
        listeners: new Set(),
        queued,
        subscription: this.#bus.subscribe(this.#subjects.sessions(tenant), (payload) => {
          const summary = payload as SessionSummary;
          track(queued, summary);
          for (const each of created.listeners) each(summary);
        }),
      };
      entry = created;
      this.#tenants.set(tenant, entry);
      this.#backend.list({ kind: "session", tenant, status: "queued", limit: 200 })
        .then((page) => {
          for (const doc of page.items) {
            if (!queued.has(doc.id as string)) track(queued, doc as SessionSummary);
          }
        })
        .catch(() => {});
    }
    entry.listeners.add(listener);
    return () => {
      const current = this.#tenants.get(tenant);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      current.subscription.close();
      this.#tenants.delete(tenant);
    };
  }

  /** The tenant's waiting conversations, longest waiting first. */
  queue(tenant: string): string[] {
    const queued = this.#tenants.get(tenant)?.queued;
    if (!queued) return [];
    return [...queued].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).map(([id]) => id);
  }
}

function track(queued: Map<string, number>, summary: SessionSummary): void {
  if (summary.status === "queued") queued.set(summary.id, summary.createdAt ?? Date.now());
  else queued.delete(summary.id);
}
