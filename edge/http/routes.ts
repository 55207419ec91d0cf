/**
 * Every route of the HTTP API in one table, from which both the router and
 * the OpenAPI document are derived.
 *
 * API routes take a verified caller and validated input and answer with a
 * JSON body; public routes do the same for anyone, without a token (the
 * widget bootstrap, which is how visitors get one); ops routes (health,
 * readiness, metrics, the API document) are public and answer with a whole
 * response.
 *
 * @module
 */
import type * as v from "valibot";
import type { ActorAddress } from "../../actors/decider.ts";
import type { AgentSummary } from "../live/agents.ts";
import { visitorTicketView } from "../../actors/ticket.ts";
import { participantKey } from "../../actors/session.ts";
import type { ActorRequest, Backend, Page, ProjectionQuery } from "../../cluster/protocol.ts";
import { prometheusContentType } from "../../cluster/telemetry/metrics.ts";
import { type Claims, type Principal, type Role, roles } from "../auth/auth.ts";
import { derivedId, newId } from "../ids.ts";
import { errorResponse, HttpError, jsonResponse, retryLater } from "./_responses.ts";
import {
  assignBody,
  commentBody,
  createTicketBody,
  escalateBody,
  eventsQuery,
  listConversationsQuery,
  listTicketsQuery,
  messagesQuery,
  noArguments,
  priorityBody,
  tagsBody,
  tenantSettingsBody,
  transferBody,
  transferConversationBody,
  widgetSessionBody,
} from "./schemas.ts";
import { openWidgetSession, withoutSecrets } from "./widget.ts";
import { pluginRoutes } from "./plugin_routes.ts";

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

// A conversation's messages the caller has not read: the newer of its
// checkpointed and its replicated marker counts.
function unreadOf(call: ApiCall<unknown, unknown>, doc: Record<string, unknown>): number {
  const checkpointed = (doc.readMarkers as Record<string, number> | undefined)?.[
    participantKey(call.principal)
  ] ?? 0;
  const marker = Math.max(checkpointed, call.readMarker(String(doc.id)));
  return Math.max(0, (typeof doc.messages === "number" ? doc.messages : 0) - marker);
}

/** Everyone but visitors. */
const staff: readonly Role[] = ["agent", "supervisor", "admin"];

// Generic only to tie each route's handler to its schemas' output types; the
// table itself holds them as plain routes.
function api<B = unknown, Q = unknown>(route: Omit<ApiRoute<B, Q>, "kind">): ApiRoute {
  return { kind: "api", ...route };
}

/** The name and summary of a route. */
type Described = Pick<ApiRoute, "operationId" | "summary">;

/** The filters a list takes from its query string; the tenant is the token's. */
type ListQuery = Omit<ProjectionQuery, "kind" | "tenant">;

/** The query of a history page: the items after a sequence number. */
type HistoryQuery = { after: number; limit: number };

/** Actors of one kind, served as a collection with an item per actor. */
interface ActorResource {
  /** The collection's path; each actor is at `<collection>/{id}`. */
  collection: string;
  kind: string;
  /** What clients call one actor, in error messages. */
  noun: string;
  response: ResponseSchema;
  /** The response of the collection's list. */
  page: ResponseSchema;
  /** Who may send commands; whether the caller may do one is the decider's to say. */
  commandRoles: readonly Role[];
  /** What a visitor's command is answered with, from the staff view; the latter by default. */
  visitorView?: (view: Record<string, unknown>) => unknown;
  /** A listed item as the caller sees it; as stored by default. */
  listedItem?: (call: ApiCall<unknown, unknown>, doc: Record<string, unknown>) => unknown;
}

/**
 * Route builders for `resource`, whose item routes address the actor
 * `kind/<caller's tenant>/<path id>`.
 */
function actorResource(resource: ActorResource) {
  const { collection, kind, noun, response, page } = resource;
  const item = `${collection}/{id}`;
  const target = (call: { params: Record<string, string> }) => ({ kind, id: call.params.id });
  const shown = (call: ApiCall<unknown, unknown>, reply: unknown) =>
    call.principal.role === "visitor" && resource.visitorView
      ? resource.visitorView(reply as Record<string, unknown>)
      : reply;
  return {
    kind,
    collection,
    /** The reply of a command, as the caller may see it. */
    shown,
    /**
     * `GET <item>/<action>`: a page of the actor's log after `after`, or 404
     * for an empty first page: an actor that exists has logged its start.
     */
    history: (
      spec: Described & {
        action: string;
        query: FieldsSchema<HistoryQuery>;
        response: ResponseSchema;
        read: (
          call: ApiCall<unknown, HistoryQuery>,
          address: ActorAddress,
        ) => Promise<Page<unknown>>;
      },
    ): ApiRoute =>
      api<unknown, HistoryQuery>({
        operationId: spec.operationId,
        summary: spec.summary,
        method: "GET",
        path: `${item}/${spec.action}`,
        roles: staff,
        query: spec.query,
        status: 200,
        response: spec.response,
        handle: async (call) => {
          const history = await spec.read(call, {
            ...target(call),
            tenant: call.principal.tenant,
          });
          if (call.query.after === 0 && history.items.length === 0) {
            throw new HttpError(404, "not_found", `no ${noun} ${call.params.id}`);
          }
          return history;
        },
      }),
    /** `GET <collection>`: the tenant's actors, newest first. */
    list: (spec: Described & { query: FieldsSchema<ListQuery> }): ApiRoute =>
      api<unknown, ListQuery>({
        ...spec,
        method: "GET",
        path: collection,
        roles: staff,
        status: 200,
        response: page,
        handle: async (call) => {
          const listed = await call.backend.list({
            kind,
            tenant: call.principal.tenant,
            ...call.query,
          });
          const { listedItem } = resource;
          if (!listedItem) return listed;
          return { ...listed, items: listed.items.map((doc) => listedItem(call, doc)) };
        },
      }),
    /** `GET <collection>/{id}`: the actor's view. */
    read: (spec: Described): ApiRoute =>
      api({
        ...spec,
        method: "GET",
        path: item,
        roles: staff,
        status: 200,
        response,
        handle: (call) => call.ask(target(call), "read"),
      }),
    /**
     * `POST <collection>/{id}/<action>`: the command `type` (`action` unless
     * named), its arguments being the body's fields.
     */
    command: (
      spec: Described & {
        action: string;
        type?: string;
        body: FieldsSchema<Record<string, unknown>>;
      },
    ): ApiRoute =>
      api<Record<string, unknown>>({
        operationId: spec.operationId,
        summary: spec.summary,
        method: "POST",
        path: `${item}/${spec.action}`,
        roles: resource.commandRoles,
        body: spec.body,
        status: 200,
        response,
        handle: async (call) =>
          shown(
            call,
            await call.ask(target(call), "command", {
              type: spec.type ?? spec.action,
              ...call.body,
            }),
          ),
      }),
  };
}

// Visitors open tickets and work on them through the API; they chat over the
// WebSocket, so conversations are served to staff only.
const tickets = actorResource({
  collection: "/v1/tickets",
  kind: "ticket",
  noun: "ticket",
  response: "Ticket",
  page: "TicketPage",
  commandRoles: roles,
  visitorView: visitorTicketView,
});
const conversations = actorResource({
  collection: "/v1/conversations",
  kind: "session",
  noun: "conversation",
  response: "Conversation",
  page: "ConversationPage",
  commandRoles: staff,
  listedItem: (call, doc) => ({ ...doc, unread: unreadOf(call, doc) }),
});

/** The HTTP API, in the order the OpenAPI document lists it. */
export const routes: readonly Route[] = [
  api<v.InferOutput<typeof createTicketBody>>({
    method: "POST",
    path: tickets.collection,
    operationId: "createTicket",
    summary:
      "Open a ticket. With an Idempotency-Key the ticket id is derived from it, so a retry answers the original ticket. Visitors may not set priority, team or tags, and are answered the requester view (no assignee, triage, SLA or notes).",
    roles,
    body: createTicketBody,
    status: 201,
    response: "Ticket",
    handle: async (call) => {
      const { tenant, sub } = call.principal;
      const fresh = call.idempotencyKey === undefined;
      const id = fresh ? newId(call.now) : await derivedId(tenant, sub, call.idempotencyKey!);
      const created = await call.ask({ kind: tickets.kind, id }, "command", {
        type: "create",
        ...call.body,
      }, { fresh });
      return tickets.shown(call, created);
    },
  }),
  tickets.list({
    operationId: "listTickets",
    summary: "List the tenant's tickets, newest first.",
    query: listTicketsQuery,
  }),
  tickets.read({ operationId: "getTicket", summary: "Read one ticket." }),
  tickets.history({
    action: "events",
    operationId: "listTicketEvents",
    summary: "Page through a ticket's audit history, oldest first.",
    query: eventsQuery,
    response: "EventPage",
    read: (call, address) => call.backend.events(address, call.query.after, call.query.limit),
  }),
  tickets.command({
    action: "claim",
    operationId: "claimTicket",
    summary: "Take the ticket as the caller.",
    body: noArguments,
  }),
  tickets.command({
    action: "assign",
    operationId: "assignTicket",
    summary: "Assign the ticket to an agent.",
    body: assignBody,
  }),
  tickets.command({
    action: "transfer",
    operationId: "transferTicket",
    summary: "Hand the ticket to another agent or team.",
    body: transferBody,
  }),
  tickets.command({
    action: "unassign",
    operationId: "unassignTicket",
    summary: "Give the ticket back to its queue.",
    body: noArguments,
  }),
  tickets.command({
    action: "comments",
    type: "comment",
    operationId: "commentOnTicket",
    summary: "Add a public reply or an internal note.",
    body: commentBody,
  }),
  tickets.command({
    action: "priority",
    operationId: "setTicketPriority",
    summary: "Change the ticket's priority.",
    body: priorityBody,
  }),
  tickets.command({
    action: "tags",
    type: "tag",
    operationId: "tagTicket",
    summary: "Add tags to the ticket.",
    body: tagsBody,
  }),
  tickets.command({
    action: "untag",
    operationId: "untagTicket",
    summary: "Remove tags from the ticket.",
    body: tagsBody,
  }),
  tickets.command({
    action: "escalate",
    operationId: "escalateTicket",
    summary: "Escalate the ticket to a higher level.",
    body: escalateBody,
  }),
  tickets.command({
    action: "resolve",
    operationId: "resolveTicket",
    summary: "Mark the ticket resolved.",
    body: noArguments,
  }),
  tickets.command({
    action: "close",
    operationId: "closeTicket",
    summary: "Close the ticket.",
    body: noArguments,
  }),
  tickets.command({
    action: "reopen",
    operationId: "reopenTicket",
    summary: "Reopen a resolved or closed ticket.",
    body: noArguments,
  }),
  conversations.list({
    operationId: "listConversations",
    summary:
      "List the tenant's live conversations, newest first: status=queued is the queue waiting for an agent.",
    query: listConversationsQuery,
  }),
  conversations.read({ operationId: "getConversation", summary: "Read one conversation." }),
  conversations.history({
    action: "messages",
    operationId: "listConversationMessages",
    summary:
      "Page through a conversation's messages, internal notes and system messages included, oldest first.",
    query: messagesQuery,
    response: "MessagePage",
    read: (call, address) =>
      call.backend.messages(address, "seq", call.query.after, call.query.limit),
  }),
  conversations.history({
    action: "events",
    operationId: "listConversationEvents",
    summary:
      "Page through a conversation's history, oldest first: its open (with topic, language and skills), messages, assignments (a routed one says why) and close.",
    query: eventsQuery,
    response: "EventPage",
    read: (call, address) => call.backend.events(address, call.query.after, call.query.limit),
  }),
  conversations.command({
    action: "claim",
    operationId: "claimConversation",
    summary: "Take the conversation as the caller; the first claim wins.",
    body: noArguments,
  }),
  conversations.command({
    action: "transfer",
    operationId: "transferConversation",
    summary: "Hand the conversation to another agent.",
    body: transferConversationBody,
  }),
  conversations.command({
    action: "close",
    operationId: "closeConversation",
    summary: "End the conversation.",
    body: noArguments,
  }),
  {
    kind: "cluster",
    method: "GET",
    path: "/v1/admin/cluster",
    operationId: "clusterStatus",
    summary:
      "The cluster's membership view and what every node hosts, for its operators: the ops credential only.",
    status: 200,
    response: "ClusterStatus",
    handle: (call) => call.backend.status(),
  } satisfies ClusterRoute,
  {
    kind: "cluster",
    method: "GET",
    path: "/v1/admin/dead-letters",
    operationId: "deadLetters",
    summary:
      "The newest 100 outbox commands their target refused for good (kept, never dropped), for its operators: the ops credential only.",
    status: 200,
    response: "DeadLetters",
    handle: async (call) => ({ items: await call.backend.deadLetters(100) }),
  } satisfies ClusterRoute,
  api({
    method: "GET",
    path: "/v1/agents",
    operationId: "listAgents",
    summary:
      "The tenant's agents that are present (a live presence lease on some edge) or hold open chats: status, capacity, skills, languages, teams, edges and load. Replicated state, for dashboards: it may lag a moment behind.",
    roles: staff,
    status: 200,
    response: "AgentList",
    handle: async (call) => ({ items: await call.agents() }),
  }),
  api({
    method: "GET",
    path: "/v1/admin/settings",
    operationId: "getTenantSettings",
    summary:
      "The caller's tenant settings: SLA targets by priority, the reopen window and the chat widget, whose identity secret shows only as hasIdentitySecret.",
    roles: ["supervisor", "admin"],
    status: 200,
    response: "TenantSettings",
    handle: async (call) => withoutSecrets(await call.backend.settings(call.principal.tenant)),
  }),
  api<v.InferOutput<typeof tenantSettingsBody>>({
    method: "POST",
    path: "/v1/admin/settings",
    operationId: "putTenantSettings",
    summary:
      "Replace the caller's tenant settings; what is left out takes the default. New tickets use them within seconds.",
    roles: ["admin"],
    body: tenantSettingsBody,
    status: 200,
    response: "TenantSettings",
    handle: async (call) =>
      withoutSecrets(await call.backend.putSettings(call.principal.tenant, call.body)),
  }),
  ...pluginRoutes,
  {
    kind: "public",
    method: "POST",
    path: "/v1/widget/sessions",
    operationId: "openWidgetSession",
    summary:
      "Start a visitor's chat from a tenant's site: with the widget's key, answers a visitor token and a new conversation. Public, and rate limited per client address. Only a valid identityHash makes visitorId the identity; other visitors get (and may send back) a server-minted anon: id. With an Idempotency-Key and a kept visitorId, a retry answers the same conversation.",
    body: widgetSessionBody,
    status: 201,
    response: "WidgetSession",
    handle: openWidgetSession,
  } satisfies PublicRoute<v.InferOutput<typeof widgetSessionBody>>,
  {
    kind: "ops",
    method: "GET",
    path: "/healthz",
    operationId: "healthz",
    summary: "Alive: answers 200 while the process serves.",
    contentType: "application/json",
    handle: () => jsonResponse(200, { status: "ok" }),
  },
  {
    kind: "ops",
    method: "GET",
    path: "/readyz",
    operationId: "readyz",
    summary: "Ready: 200 once connected and placed, 503 until then.",
    contentType: "application/json",
    errors: [503],
    handle: (ops) =>
      ops.ready()
        ? jsonResponse(200, { status: "ready" })
        : errorResponse(retryLater("not_ready", "not connected and placed yet")),
  },
  {
    kind: "ops",
    method: "GET",
    path: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics in the text exposition format.",
    contentType: prometheusContentType,
    handle: (ops) =>
      new Response(ops.metricsText(), { headers: { "content-type": prometheusContentType } }),
  },
  {
    kind: "ops",
    method: "GET",
    path: "/v1/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document.",
    contentType: "application/json",
    handle: (ops) => jsonResponse(200, ops.openApi()),
  },
];
