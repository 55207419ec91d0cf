/**
 * The {@linkcode Backend} of a process in a cluster: actor requests go to
 * their owner through the router, store queries to any node over the bus.
 *
 * @module
 */
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../actors/decider.ts";
import type { Membership } from "./membership.ts";
import type { NodeStats } from "./node_service.ts";
import type {
  ActorRequest,
  ActorResponse,
  Backend,
  ClusterStatus,
  Page,
  ProjectionQuery,
  StoredEvent,
  WidgetTenant,
} from "./protocol.ts";
import type { ClusterRouter } from "./router.ts";
import {
  QueryFailedError,
  type QueryRequest,
  type QueryResponse,
  unwrapQuery,
} from "./store_query.ts";
import { subjects } from "./subjects.ts";
import type { Transport } from "./transport.ts";

/** Options of {@linkcode ClusterBackend}. */
export interface ClusterBackendOptions {
  cluster: string;
  transport: Transport;
  membership: Membership;
  router: ClusterRouter;
  /** Extra readiness condition, e.g. a node's own store being open. */
  ready?: () => boolean;
  queryTimeoutMs?: number;
}

/** A backend that reaches actors and the store over NATS. */
export class ClusterBackend implements Backend {
  #options: ClusterBackendOptions & { queryTimeoutMs: number };
  #subjects: ReturnType<typeof subjects>;
  #membershipReady = false;

  constructor(options: ClusterBackendOptions) {
    this.#options = { queryTimeoutMs: 5000, ...options };
    this.#subjects = subjects(options.cluster);
    options.membership.ready.then(() => this.#membershipReady = true);
  }

  request(request: ActorRequest): Promise<ActorResponse> {
    const headers: Record<string, string> = request.traceparent
      ? { traceparent: request.traceparent }
      : {};
    return this.#options.router.request(request, headers);
  }

  events(address: ActorAddress, afterSeq: number, limit: number): Promise<Page<StoredEvent>> {
    return this.#query({ op: "events", address, afterSeq, limit });
  }

  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>> {
    return this.#query({ op: "list", query });
  }

  async messages(
    address: ActorAddress,
    numbering: "seq" | "publicSeq",
    after: number,
    limit: number,
  ): Promise<Record<string, unknown>[]> {
    const page = await this.#query<Page<Record<string, unknown>>>({
      op: "messages",
      address,
      numbering,
      after,
      limit,
    });
    return page.items;
  }

  settings(tenant: string): Promise<TenantSettings> {
    return this.#query({ op: "settings", tenant });
  }

  putSettings(tenant: string, settings: StoredTenantSettings): Promise<TenantSettings> {
    return this.#query({ op: "putSettings", tenant, settings });
  }

  widgetTenant(key: string): Promise<WidgetTenant | null> {
    return this.#query({ op: "widgetTenant", key });
  }

  ready(): boolean {
    const { transport, membership } = this.#options;
    return this.#membershipReady && transport.connected && membership.view.nodes.length > 0 &&
      (this.#options.ready?.() ?? true);
  }

  async status(): Promise<ClusterStatus> {
    const { membership, transport } = this.#options;
    const view = membership.view;
    const nodes = await Promise.all(view.nodes.map(async (id) => {
      try {
        const stats = await transport.request(this.#subjects.nodeStats(id), {}, {
          timeoutMs: 1000,
        }) as NodeStats;
        return { id, actors: stats.actors, mailbox: stats.mailbox };
      } catch {
        return { id, actors: null, mailbox: null };
      }
    }));
    return { epoch: view.epoch, viewId: membership.viewId, nodes, edges: view.edges };
  }

  async #query<T>(request: QueryRequest): Promise<T> {
    const response = await this.#options.transport.request(this.#subjects.query, request, {
      timeoutMs: this.#options.queryTimeoutMs,
    }).catch((error) => {
      throw new QueryFailedError("unavailable", `no node answered: ${error.message}`, true);
    });
    return unwrapQuery<T>(response as QueryResponse);
  }
}
