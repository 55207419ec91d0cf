/**
 * A node's presence on the bus: it answers actor requests for the actors it
 * owns under its view (redirecting the rest), store queries from edges, and
 * the statistics of the admin view; on a view change it passivates the
 * actors it no longer owns.
 *
 * @module
 */
import type { ActorAddress } from "../../actors/decider.ts";
import { actorKey, invalidAddressPart } from "../actor_key.ts";
import type { EventStore } from "../store/event_store.ts";
import type { ActorHost } from "../runtime/host.ts";
import type { Membership } from "../placement/membership.ts";
import {
  type ActorResponse,
  type ConversationHead,
  failed,
  fromWire,
  maxHeadsPerRequest,
  type PluginAdminRequest,
  type PluginAdminResponse,
  RuntimeErrors,
  type WireActorRequest,
  type WireHeadsRequest,
} from "../protocol.ts";
import { readHeads } from "../runtime/heads.ts";
import type { ClusterRouter } from "../placement/request_router.ts";
import { type QueryRequest, queryStore } from "../store/store_query.ts";
import { subjects } from "../transport/subjects.ts";
import type { Transport } from "../transport/transport.ts";

/** Options of {@linkcode startNodeService}. */
export interface NodeServiceOptions {
  id: string;
  cluster: string;
  transport: Transport;
  membership: Membership;
  router: ClusterRouter;
  host: ActorHost;
  store: EventStore;
  /** Answers plugin admin requests with this node's sandbox. */
  plugins?: (request: PluginAdminRequest) => Promise<PluginAdminResponse>;
  /** This node's clock, which budgets off the bus become deadlines on. */
  now?: () => number;
}

/** What one node reports to the admin view. */
export interface NodeStats {
  id: string;
  actors: Record<string, number>;
  mailbox: number;
}

/** Serve this node's subjects until `close`. */
export function startNodeService(options: NodeServiceOptions): { close(): void } {
  const { id, transport, membership, router, host, store, plugins, now = Date.now } = options;
  const names = subjects(options.cluster);
  membership.onChange(() => host.passivate((address) => router.ownerOf(actorKey(address)) !== id));
  const services = [
    transport.serve(names.node(id), (payload) => answer(payload)),
    transport.serve(names.heads(id), (payload) => heads(payload)),
    transport.serve(names.query, (payload) => queryStore(store, payload as QueryRequest), {
      queue: "nodes",
    }),
    transport.serve(
      names.nodeStats(id),
      () =>
        Promise.resolve<NodeStats>({
          id,
          actors: host.activeByKind(),
          mailbox: host.mailboxDepth(),
        }),
    ),
  ];
  if (plugins) {
    const answerPlugins = (payload: unknown) => plugins(payload as PluginAdminRequest);
    services.push(
      transport.serve(names.pluginAdmin, answerPlugins, { queue: "nodes" }),
      transport.serve(names.pluginAdminAt(id), answerPlugins),
    );
  }

  // The owner check happens per request: a sender with an older or newer
  // view is told to look again rather than served by the wrong node.
  function answer(payload: unknown): Promise<ActorResponse> {
    const sent = payload as WireActorRequest;
    if (!sent?.address || typeof sent.commandId !== "string" || !Number.isFinite(sent.budgetMs)) {
      return Promise.resolve(failed("validation", "malformed actor request", false));
    }
    const request = fromWire(sent, now());
    const owner = router.ownerOf(actorKey(request.address));
    if (owner !== id) {
      return Promise.resolve({
        ok: false,
        error: {
          code: RuntimeErrors.redirect,
          message: `${id} does not own this actor`,
          retryable: true,
          details: { owner },
        },
      });
    }
    return host.dispatch(request);
  }

  // Heads of the conversations this node owns; null for the others (the
  // asker's view is older or newer: its next check asks their owner).
  function heads(payload: unknown): Promise<(ConversationHead | null)[]> {
    const sent = payload as WireHeadsRequest;
    const addresses = sent?.addresses;
    if (
      !Array.isArray(addresses) || addresses.length > maxHeadsPerRequest ||
      !Number.isFinite(sent.budgetMs) || !addresses.every(isAddress)
    ) {
      return Promise.resolve([]);
    }
    const owns = addresses.map((address) => router.ownerOf(actorKey(address)) === id);
    const owned = addresses.filter((_, i) => owns[i]);
    return readHeads((request) => host.dispatch(request), owned, now() + sent.budgetMs)
      .then((read) => {
        let next = 0;
        return owns.map((own) => own ? read[next++] : null);
      });
  }

  return { close: () => services.forEach((service) => service.close()) };
}

function isAddress(value: unknown): value is ActorAddress {
  return typeof value === "object" && value !== null &&
    invalidAddressPart(value as ActorAddress) === null;
}
