/**
 * The {@linkcode Backend} of a process in a cluster: actor requests go to
 * their owner through the router, store queries to any node over the bus.
 *
 * @module
 */
import { StoreQueries } from "./_backend_queries.ts";
import type { Membership } from "../placement/membership.ts";
import type { NodeStats } from "./node_service.ts";
import type { ActorAddress } from "../../actors/decider.ts";
import { actorKey } from "../actor_key.ts";
import {
  type ActorRequest,
  type ActorResponse,
  type Backend,
  type ClusterStatus,
  type ConversationHead,
  maxHeadsPerRequest,
  type PluginAdminRequest,
  type PluginAdminResponse,
  type WireHeadsRequest,
} from "../protocol.ts";
import { headOf } from "../runtime/heads.ts";
import type { ClusterRouter } from "../placement/request_router.ts";
import { QueryFailedError, type QueryRequest, type QueryResponse } from "../store/store_query.ts";
import { subjects } from "../transport/subjects.ts";
import { NoRespondersError, type Transport } from "../transport/transport.ts";

const pluginAdminTimeoutMs = 15_000;

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
export class ClusterBackend extends StoreQueries implements Backend {
  #options: ClusterBackendOptions & { queryTimeoutMs: number };
  #subjects: ReturnType<typeof subjects>;
  #membershipReady = false;

  constructor(options: ClusterBackendOptions) {
    super();
    this.#options = { queryTimeoutMs: 5000, ...options };
    this.#subjects = subjects(options.cluster);
    options.membership.ready.then(() => this.#membershipReady = true);
  }

  // The trace context travels in the request itself, where the node reads
  // it: no NATS headers to build and parse per request.
  request(request: ActorRequest): Promise<ActorResponse> {
    return this.#options.router.request(request);
  }

  // One request per owner node (per maxHeadsPerRequest of its conversations)
  // instead of one per conversation: an edge watching 50,000 quiet
  // conversations asks a few requests each check, not thousands.
  async heads(
    addresses: readonly ActorAddress[],
    deadline: number,
  ): Promise<(ConversationHead | null)[]> {
    const heads: (ConversationHead | null)[] = addresses.map(() => null);
    // Each owner's conversations, in asks of at most maxHeadsPerRequest.
    const asks: { owner: string; indexes: number[] }[] = [];
    const filling = new Map<string, number[]>();
    addresses.forEach((address, i) => {
      const owner = this.#options.router.ownerOf(actorKey(address));
      if (owner === null) return;
      let indexes = filling.get(owner);
      if (!indexes || indexes.length === maxHeadsPerRequest) {
        filling.set(owner, indexes = []);
        asks.push({ owner, indexes });
      }
      indexes.push(i);
    });
    await Promise.all(asks.map(async ({ owner, indexes }) => {
      const budgetMs = deadline - Date.now();
      if (budgetMs <= 0) return;
      const request: WireHeadsRequest = { addresses: indexes.map((i) => addresses[i]), budgetMs };
      try {
        const answer = await this.#options.transport.request(this.#subjects.heads(owner), request, {
          timeoutMs: budgetMs,
        });
        if (!Array.isArray(answer) || answer.length !== indexes.length) return;
        indexes.forEach((index, j) => heads[index] = headOf(answer[j]));
      } catch {
        // An owner that did not answer: its conversations are asked at the next check.
      }
    }));
    return heads;
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

  async plugins(request: PluginAdminRequest, node?: string): Promise<PluginAdminResponse> {
    const subject = node ? this.#subjects.pluginAdminAt(node) : this.#subjects.pluginAdmin;
    try {
      // A registration loads the plugin in a sandbox first: more than a query takes.
      return await this.#options.transport.request(subject, request, {
        timeoutMs: pluginAdminTimeoutMs,
      }) as PluginAdminResponse;
    } catch (error) {
      const unknownNode = node !== undefined && error instanceof NoRespondersError;
      return {
        ok: false,
        error: unknownNode
          ? { code: "not_found", message: `no node ${node}`, retryable: false }
          : { code: "unavailable", message: `no node answered: ${error}`, retryable: true },
      };
    }
  }

  protected async query(request: QueryRequest): Promise<QueryResponse> {
    return await this.#options.transport.request(this.#subjects.query, request, {
      timeoutMs: this.#options.queryTimeoutMs,
    }).catch((error) => {
      throw new QueryFailedError("unavailable", `no node answered: ${error.message}`, true);
    }) as QueryResponse;
  }
}
