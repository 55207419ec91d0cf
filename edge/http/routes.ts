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
import { visitorTicketView } from "../../actors/ticket.ts";
import { participantKey } from "../../actors/session.ts";
import { prometheusContentType } from "../../cluster/telemetry/metrics.ts";
import { roles } from "../auth/auth.ts";
import { derivedId, newId } from "../ids.ts";
import { errorResponse, jsonResponse, retryLater } from "./_responses.ts";
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
  transferBody,
  transferConversationBody,
} from "./schemas.ts";
import { tenantSettingsBody, widgetSessionBody } from "./settings_schemas.ts";
import { openWidgetSession, withoutSecrets } from "./widget.ts";
import { pluginRoutes } from "./plugin_routes.ts";
import type { ApiCall, ClusterRoute, PublicRoute, Route } from "./route_types.ts";
import { actorResource, api, staff } from "./_actor_resource.ts";

// A conversation's messages the caller has not read: the newer of its
// checkpointed and its replicated marker counts.
function unreadOf(call: ApiCall<unknown, unknown>, doc: Record<string, unknown>): number {
  const checkpointed = (doc.readMarkers as Record<string, number> | undefined)?.[
    participantKey(call.principal)
  ] ?? 0;
  const marker = Math.max(checkpointed, call.readMarker(String(doc.id)));
  return Math.max(0, (typeof doc.messages === "number" ? doc.messages : 0) - marker);
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
