/**
 * The shapes of the HTTP API's routes: what a handler is given (the verified
 * caller, validated input, the backend) and what a route declares (method,
 * path, roles, schemas), for the route table, the router and the OpenAPI
 * document.
 *
 * @module
 */
import type * as v from "valibot";
import type { ActorAddress } from "../../actors/decider.ts";
import type { AgentSummary } from "../live/agents.ts";
import type { ActorRequest, Backend } from "../../cluster/protocol.ts";
import type { Claims, Principal, Role } from "../auth/auth.ts";

/** A command for an actor, without `by`: the edge sets it from the token. */
export type CommandBody = { type: string; [field: string]: unknown };

/** What an API route's handler is given. */
export interface ApiCall<B, Q> {
  principal: Principal;
  /** Path parameters by name, decoded; `id` is always a valid address part. */
  params: Record<string, string>;
  body: B;
  query: Q;
  /** The validated `Idempotency-Key` of a POST, if the client sent one. */
  idempotencyKey?: string;
  /** The time of the request, epoch ms. */
  now: number;
  /**
   * Send `command` (with `by` set to the caller) or a read to the actor
   * `kind/<caller's tenant>/id`, and return its reply; a failure answer
   * throws the matching HTTP error.
   */
  ask(
    target: Omit<ActorAddress, "tenant">,
    op: "command" | "read",
    command?: CommandBody,
    hints?: { fresh?: boolean },
  ): Promise<
    unknown
  >;
  /** The runtime, for queries; each call is bounded by the request's deadline. */
  backend: Pick<Backend, "events" | "messages" | "list" | "settings" | "putSettings" | "plugins">;
  /** The caller's tenant's agents: presence and load, as this process's replicas know them. */
  agents(): Promise<AgentSummary[]>;
  /** The highest seq the caller read in a conversation, as this process's replica knows it. */
  readMarker(conversation: string): number;
}

/** An object schema, whose fields the OpenAPI document lists one by one. */
export type FieldsSchema<T> = v.GenericSchema<unknown, T> & { readonly entries: v.ObjectEntries };

/** Names of the response schemas the OpenAPI document defines. */
export type ResponseSchema =
  | "Ticket"
  | "TicketPage"
  | "EventPage"
  | "Conversation"
  | "ConversationPage"
  | "MessagePage"
  | "ClusterStatus"
  | "DeadLetters"
  | "TenantSettings"
  | "Plugin"
  | "PluginList"
  | "WidgetSession"
  | "AgentList";

/** A route that serves the API to a verified caller. */
export interface ApiRoute<B = unknown, Q = unknown> {
  kind: "api";
  method: "GET" | "POST";
  path: string;
  operationId: string;
  summary: string;
  /** Roles allowed to call; business rules beyond this are the decider's. */
  roles: readonly Role[];
  body?: FieldsSchema<B>;
  query?: FieldsSchema<Q>;
  /** The largest body accepted, in bytes, when more than the API's default. */
  maxBodyBytes?: number;
  /** The status of a success. */
  status: 200 | 201;
  response: ResponseSchema;
  handle(call: ApiCall<B, Q>): Promise<unknown>;
}

/** What a public route's handler is given: there is no caller to act as. */
export interface PublicCall<B> {
  body: B;
  /** The validated `Idempotency-Key` of a POST, if the client sent one. */
  idempotencyKey?: string;
  /** The time of the request, epoch ms. */
  now: number;
  /** The `Origin` of the page that sent the request, if a page did. */
  origin: string | null;
  /** Send `request` and return the actor's reply; a failure answer throws the matching HTTP error. */
  send(request: Omit<ActorRequest, "deadline" | "traceparent">): Promise<unknown>;
  /** The runtime, for queries; each call is bounded by the request's deadline. */
  backend: Pick<Backend, "widgetTenant">;
  /** A bearer token for `claims`, valid for `ttlSeconds` from the request's time. */
  token(claims: Claims, ttlSeconds: number): Promise<string>;
  /** Anonymous visitor ids of `tenant`, signed with the server's secret. */
  anonymousIds: {
    mint(tenant: string): Promise<string>;
    /** True when `id` was minted for `tenant` by this cluster. */
    minted(tenant: string, id: string): Promise<boolean>;
  };
  /** How many of the tenant's agents are online, as this edge's replica of presence says. */
  agentsOnline(tenant: string): Promise<number>;
}

/** A route that serves the API to anyone; it finds its tenant from its input. */
export interface PublicRoute<B = unknown>
  extends Omit<ApiRoute<B>, "kind" | "method" | "roles" | "query" | "handle"> {
  kind: "public";
  method: "POST";
  body: FieldsSchema<B>;
  handle(call: PublicCall<B>): Promise<unknown>;
}

/** What an ops route's handler is given. */
export interface OpsContext {
  ready(): boolean;
  /** The Prometheus text of every registered metric. */
  metricsText(): string;
  openApi(): unknown;
}

/** A public route for operators and tooling. */
export interface OpsRoute {
  kind: "ops";
  method: "GET";
  path: string;
  operationId: string;
  summary: string;
  contentType: string;
  /** Error statuses it may answer besides 200. */
  errors?: readonly number[];
  handle(ops: OpsContext): Response;
}

/** What a cluster route's handler is given. */
export interface ClusterCall {
  /** The runtime's view of the cluster; bounded by the request's deadline. */
  backend: Pick<Backend, "status" | "deadLetters">;
}

/**
 * A route about the whole cluster, across tenants: served only to the ops
 * credential (a token with role `ops` and no tenant), never to a tenant's role.
 */
export interface ClusterRoute
  extends Omit<ApiRoute, "kind" | "method" | "roles" | "body" | "query" | "handle"> {
  kind: "cluster";
  method: "GET";
  handle(call: ClusterCall): Promise<unknown>;
}

/** Any route of the table. */
export type Route = ApiRoute | PublicRoute | ClusterRoute | OpsRoute;
