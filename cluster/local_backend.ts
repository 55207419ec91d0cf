/**
 * The {@linkcode Backend} of a process that hosts the actors itself
 * (standalone): requests go straight to the local host.
 *
 * @module
 */
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../actors/decider.ts";
import type { EventStore } from "./event_store.ts";
import type { ActorHost } from "./host.ts";
import { type QueryRequest, queryStore, unwrapQuery } from "./store_query.ts";
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

/** A backend over an in-process host and its store. */
export class LocalBackend implements Backend {
  #host: ActorHost;
  #store: EventStore;

  #id: string;

  constructor(host: ActorHost, store: EventStore, id: string) {
    this.#host = host;
    this.#store = store;
    this.#id = id;
  }

  request(request: ActorRequest): Promise<ActorResponse> {
    return this.#host.dispatch(request);
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

  async #query<T>(request: QueryRequest): Promise<T> {
    return unwrapQuery<T>(await queryStore(this.#store, request));
  }

  ready(): boolean {
    return true;
  }

  status(): Promise<ClusterStatus> {
    return Promise.resolve({
      epoch: 1,
      viewId: "standalone",
      nodes: [{
        id: this.#id,
        actors: this.#host.activeByKind(),
        mailbox: this.#host.mailboxDepth(),
      }],
      edges: [this.#id],
    });
  }
}
