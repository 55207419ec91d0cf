/**
 * The {@linkcode Backend} of a process that hosts the actors itself
 * (standalone): requests go straight to the local host.
 *
 * @module
 */
import type { EventStore } from "../store/event_store.ts";
import type { ActorHost } from "../runtime/host.ts";
import { StoreQueries } from "./_backend_queries.ts";
import { type QueryRequest, type QueryResponse, queryStore } from "../store/store_query.ts";
import type { ActorAddress } from "../../actors/decider.ts";
import type {
  ActorRequest,
  ActorResponse,
  Backend,
  ClusterStatus,
  ConversationHead,
  PluginAdminRequest,
  PluginAdminResponse,
} from "../protocol.ts";
import { readHeads } from "../runtime/heads.ts";

/** A backend over an in-process host and its store. */
export class LocalBackend extends StoreQueries implements Backend {
  #host: ActorHost;
  #store: EventStore;
  #id: string;

  #plugins: ((request: PluginAdminRequest) => Promise<PluginAdminResponse>) | undefined;

  constructor(
    host: ActorHost,
    store: EventStore,
    id: string,
    plugins?: (request: PluginAdminRequest) => Promise<PluginAdminResponse>,
  ) {
    super();
    this.#host = host;
    this.#store = store;
    this.#id = id;
    this.#plugins = plugins;
  }

  plugins(request: PluginAdminRequest, node?: string): Promise<PluginAdminResponse> {
    if (!this.#plugins || (node !== undefined && node !== this.#id)) {
      const message = this.#plugins ? `no node ${node}` : "this process hosts no plugins";
      return Promise.resolve({
        ok: false,
        error: { code: "not_found", message, retryable: false },
      });
    }
    return this.#plugins(request);
  }

  request(request: ActorRequest): Promise<ActorResponse> {
    return this.#host.dispatch(request);
  }

  heads(
    addresses: readonly ActorAddress[],
    deadline: number,
  ): Promise<(ConversationHead | null)[]> {
    return readHeads((request) => this.#host.dispatch(request), addresses, deadline);
  }

  protected query(request: QueryRequest): Promise<QueryResponse> {
    return queryStore(this.#store, request);
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
