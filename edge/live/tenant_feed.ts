/**
 * The status of a tenant's conversations as this edge knows it: every
 * change the nodes publish (queued, assigned, closed), and the waiting
 * queue derived from it, read from the store when the tenant's first socket
 * arrives and again periodically: a change whose push was lost (a close the
 * edge never heard) is forgotten at the next read, not kept forever.
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
  /**
   * The waiting queue in order, kept until `queued` changes: every socket of
   * the tenant asks for it at every change, and sorting it for each was
   * quadratic in a burst of arrivals.
   */
  ordered?: readonly string[];
  /** While the store is read: the conversations heard of meanwhile, which the bus knows better. */
  heardDuringRead?: Set<string>;
}

/** Options of {@linkcode TenantFeed}. */
export interface TenantFeedOptions {
  /** How often each followed tenant's waiting queue is read again. @default 60000 */
  refreshMs?: number;
}

const listPage = 200;
// A queue longer than this is not read whole: only what is read is added, nothing dropped.
const maxListPages = 10;

/** Shares one subscription per tenant among an edge's sockets. */
export class TenantFeed {
  #bus: Transport;
  #backend: Backend;
  #subjects: ReturnType<typeof subjects>;
  #tenants = new Map<string, Tenant>();
  #timer: ReturnType<typeof setInterval>;

  constructor(
    bus: Transport,
    backend: Backend,
    cluster: string,
    options: TenantFeedOptions = {},
  ) {
    this.#bus = bus;
    this.#backend = backend;
    this.#subjects = subjects(cluster);
    this.#timer = setInterval(() => {
      for (const [tenant, entry] of this.#tenants) this.#read(tenant, entry);
    }, options.refreshMs ?? 60_000);
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
          track(created, summary);
          created.heardDuringRead?.add(summary.id);
          for (const each of created.listeners) each(summary);
        }),
      };
      entry = created;
      this.#tenants.set(tenant, entry);
      this.#read(tenant, entry);
    }
    entry.listeners.add(listener);
    return () => {
      const current = this.#tenants.get(tenant);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      current.subscription.close();
      this.#tenants.delete(tenant);
    };
  }

  /** Stop reading the queues again. */
  close(): void {
    clearInterval(this.#timer);
  }

  // The store's waiting conversations replace what the bus told, except for
  // what the bus told while the store was read.
  async #read(tenant: string, entry: Tenant): Promise<void> {
    if (entry.heardDuringRead) return;
    const heard = entry.heardDuringRead = new Set();
    try {
      const listed = new Map<string, SessionSummary>();
      let cursor: string | undefined;
      let whole = false;
      for (let pages = 0; pages < maxListPages && !whole; pages++) {
        const page = await this.#backend.list({
          kind: "session",
          tenant,
          status: "queued",
          limit: listPage,
          ...(cursor && { cursor }),
        });
        for (const doc of page.items) listed.set(doc.id as string, doc as SessionSummary);
        cursor = page.nextCursor ?? undefined;
        whole = page.nextCursor === null;
      }
      for (const id of entry.queued.keys()) {
        if (whole && !listed.has(id) && !heard.has(id)) untrack(entry, id);
      }
      for (const [id, summary] of listed) {
        if (!heard.has(id) && !entry.queued.has(id)) track(entry, summary);
      }
    } catch {
      // The next read tries again; until then the bus's view stands.
    } finally {
      entry.heardDuringRead = undefined;
    }
  }

  /**
   * The tenant's waiting conversations, longest waiting first: the same
   * array until the queue changes.
   */
  queue(tenant: string): readonly string[] {
    const entry = this.#tenants.get(tenant);
    if (!entry) return [];
    return entry.ordered ??= [...entry.queued]
      .sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]))
      .map(([id]) => id);
  }
}

function track(entry: Tenant, summary: SessionSummary): void {
  if (summary.status !== "queued") return untrack(entry, summary.id);
  // A conversation already waiting keeps its place: a summary of it again
  // (a message while it waits) changes nothing.
  if (entry.queued.has(summary.id)) return;
  entry.queued.set(summary.id, summary.createdAt ?? Date.now());
  entry.ordered = undefined;
}

function untrack(entry: Tenant, id: string): void {
  if (entry.queued.delete(id)) entry.ordered = undefined;
}
