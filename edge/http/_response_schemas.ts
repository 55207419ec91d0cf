/**
 * The fixed components of the OpenAPI document: the JSON Schemas of the API's
 * answers, under the names routes give their responses, and the error
 * responses by status. Data apart from the builder in `openapi.ts`, which
 * derives the operations from the route table.
 *
 * @module
 */
import type { ResponseSchema } from "./route_types.ts";
import { maxBodyBytes } from "./_body.ts";

/** A JSON object of the document. */
export type Json = Record<string, unknown>;

/** A reference to the component schema `name`. */
export function ref(name: ResponseSchema | "Error" | "Message"): Json {
  return { $ref: `#/components/schemas/${name}` };
}

// A stored plugin version and what the answering node knows of it.
const pluginVersion: Json = {
  type: "object",
  required: ["name", "version", "state", "options", "sourceBytes", "createdAt", "createdBy"],
  properties: {
    node: { type: "string", description: "The node that answered." },
    name: { type: "string" },
    version: { type: "string" },
    state: { enum: ["active", "shadow", "inactive"] },
    options: { type: "object", description: "Handed to every call as the input's options." },
    sourceBytes: { type: "integer" },
    createdAt: { type: "integer", description: "Epoch ms." },
    createdBy: { type: "string" },
    activatedAt: { type: ["integer", "null"], description: "Epoch ms it last became active." },
    local: {
      type: ["object", "null"],
      description:
        "The answering node's role (active, shadow, loaded), circuit breaker and counters; null when not loaded there.",
    },
  },
};

/** The component schemas: every route's response and the shapes they embed. */
export const schemas: Record<ResponseSchema | "Error" | "StoredEvent" | "Message", Json> = {
  Error: {
    type: "object",
    required: ["error"],
    properties: {
      error: {
        type: "object",
        required: ["code", "message"],
        properties: {
          code: { type: "string", description: "Stable, machine-readable, e.g. already_claimed." },
          message: { type: "string" },
          field: { type: "string", description: "The input at fault, for validation errors." },
          details: { type: "object", description: "Further facts, e.g. the current owner." },
        },
      },
    },
  },
  Ticket: {
    type: "object",
    description: "A ticket as its actor shows it.",
    additionalProperties: true,
  },
  TicketPage: page(ref("Ticket")),
  StoredEvent: {
    type: "object",
    required: ["seq", "type", "data", "commandId", "at"],
    properties: {
      seq: { type: "integer", minimum: 1 },
      type: { type: "string" },
      data: { type: "object" },
      commandId: { type: "string" },
      at: { type: "integer", description: "Epoch milliseconds." },
    },
  },
  EventPage: page({ $ref: "#/components/schemas/StoredEvent" }),
  Conversation: {
    type: "object",
    description:
      "A live conversation as its actor shows it; readMarkers are the checkpointed read markers by participant (visitor:<sub>, agent:<sub>).",
    properties: {
      messages: { type: "integer", description: "The newest message number (seq)." },
      readMarkers: { type: "object", additionalProperties: { type: "integer" } },
      topic: {
        type: ["string", "null"],
        description: "The widget topic it was opened with; absent when it named none.",
      },
      language: {
        type: ["string", "null"],
        description: "The language it is served in; absent when the open named no routing.",
      },
    },
    additionalProperties: true,
  },
  // Listed conversations carry the caller's unread count.
  ConversationPage: page({
    allOf: [ref("Conversation"), {
      type: "object",
      required: ["unread"],
      properties: {
        unread: {
          type: "integer",
          description: "Messages the caller has not read, on any device.",
        },
      },
    }],
  }),
  Message: {
    type: "object",
    required: [
      "seq",
      "publicSeq",
      "kind",
      "author",
      "body",
      "clientMessageId",
      "at",
      "internal",
    ],
    properties: {
      type: { const: "message" },
      seq: { type: "integer", minimum: 1, description: "Numbers every message." },
      publicSeq: {
        type: "integer",
        minimum: 0,
        description: "Numbers what the visitor sees; a note repeats the number before it.",
      },
      kind: { enum: ["text", "note", "system"] },
      author: {
        type: "object",
        required: ["sub", "role"],
        properties: {
          sub: { type: "string" },
          role: { enum: ["visitor", "agent", "supervisor", "admin", "system"] },
        },
      },
      body: { type: "string" },
      clientMessageId: {
        type: ["string", "null"],
        description: "The sender's own id for the message; null on system messages.",
      },
      at: { type: "integer", description: "Epoch milliseconds." },
      internal: {
        type: "boolean",
        description: "A note among agents, never shown to the visitor.",
      },
    },
  },
  MessagePage: page(ref("Message"), "after"),
  ClusterStatus: {
    type: "object",
    required: ["epoch", "viewId", "nodes", "edges"],
    properties: {
      epoch: { type: "integer", description: "View changes seen by the answering process." },
      viewId: { type: "string", description: "Equal on processes that share a view." },
      nodes: {
        type: "array",
        items: {
          type: "object",
          required: ["id", "actors", "mailbox"],
          properties: {
            id: { type: "string" },
            actors: {
              type: ["object", "null"],
              additionalProperties: { type: "integer" },
              description: "Active actors by kind; null when the node did not answer.",
            },
            mailbox: { type: ["integer", "null"] },
          },
        },
      },
      edges: { type: "array", items: { type: "string" } },
    },
  },
  DeadLetters: list({
    type: "object",
    required: ["actorKey", "address", "command", "commandId", "failedAt", "error"],
    properties: {
      actorKey: { type: "string", description: "The actor whose event sent the command." },
      address: { type: "object", description: "The actor the command was for." },
      command: { type: "object" },
      commandId: { type: "string" },
      createdAt: { type: "integer", description: "Epoch ms the command was stored." },
      failedAt: { type: "integer", description: "Epoch ms the target refused it." },
      error: { type: "object", description: "The refusal, as the target answered it." },
    },
  }),
  Plugin: pluginVersion,
  PluginList: {
    type: "object",
    required: ["node", "items"],
    properties: {
      node: { type: "string", description: "The node whose counters `local` shows." },
      items: { type: "array", items: pluginVersion },
    },
  },
  TenantSettings: {
    type: "object",
    required: ["sla", "reopenWindowMinutes"],
    properties: {
      sla: {
        type: "object",
        description: "First-response and resolution targets in minutes, by priority.",
        additionalProperties: {
          type: "object",
          properties: {
            firstResponseMinutes: { type: "number" },
            resolutionMinutes: { type: "number" },
          },
        },
      },
      reopenWindowMinutes: { type: "number" },
      routing: {
        type: "object",
        description:
          "How the tenant's queue routes work: router (a built-in or a plugin's name), routerOptions, offerSeconds (0 assigns directly), capacity {chats, tickets} per agent, relaxation steps [{afterMs, drop}], releaseAfterSeconds, maxWaiting.",
      },
      widget: {
        type: "object",
        required: ["key", "hasIdentitySecret"],
        properties: {
          key: { type: "string" },
          requireIdentity: { type: "boolean" },
          hasIdentitySecret: {
            type: "boolean",
            description: "Whether an identity secret is set; the secret itself is never served.",
          },
        },
      },
    },
  },
  AgentList: list({
    type: "object",
    required: [
      "agent",
      "status",
      "capacity",
      "skills",
      "languages",
      "teams",
      "edges",
      "load",
    ],
    properties: {
      agent: { type: "string" },
      status: {
        enum: ["online", "away", "offline"],
        description: "The best status among its edges' unexpired leases; offline with none.",
      },
      capacity: { type: "integer" },
      skills: { type: "array", items: { type: "string" } },
      languages: { type: "array", items: { type: "string" } },
      teams: { type: "array", items: { type: "string" } },
      edges: {
        type: "array",
        items: { type: "string" },
        description: "Edges holding a socket of the agent.",
      },
      load: {
        type: "object",
        required: ["chats", "tickets"],
        properties: { chats: { type: "integer" }, tickets: { type: "integer" } },
        description: "Open work held, from committed events (replicated counters).",
      },
    },
  }),
  WidgetSession: {
    type: "object",
    required: ["token", "conversationId", "visitorId", "expiresAt", "agentsOnline"],
    properties: {
      token: { type: "string", description: "Bearer token of the visitor (role visitor)." },
      conversationId: { type: "string" },
      visitorId: {
        type: "string",
        description:
          "The signed visitorId, or the anonymous id (anon:…) the widget keeps and sends next time.",
      },
      expiresAt: { type: "integer", description: "When the token expires, epoch milliseconds." },
      agentsOnline: {
        type: "integer",
        description:
          "The tenant's agents online when the conversation opened; with 0 it became a ticket.",
      },
    },
  },
};

// A whole list: `items` alone, no cursor (see page).
function list(item: Json): Json {
  return {
    type: "object",
    required: ["items"],
    properties: { items: { type: "array", items: item } },
  };
}

function page(item: Json, next = "cursor"): Json {
  return {
    type: "object",
    required: ["items", "nextCursor"],
    properties: {
      items: { type: "array", items: item },
      nextCursor: {
        type: ["string", "null"],
        description: `Pass as \`${next}\` for the next page; null at the end.`,
      },
    },
  };
}

const errorDescriptions: Record<string, string> = {
  400:
    "validation (naming the field; also text Postgres cannot store: U+0000, unpaired surrogates), malformed_json, or invalid: the event store refused the command's data.",
  401:
    "unauthorized: the bearer token is missing, malformed, expired, forged or lacks claims, or an identityHash does not verify; identity_required: the widget admits verified visitors only.",
  403: "forbidden: the caller's role may not do this.",
  404: "not_found: no such route, ticket or conversation (in the caller's tenant), or widget key.",
  409:
    "The actor's state refuses the command (already_claimed, invalid_transition, ticket_closed, conversation_closed …), or widget_key_taken: another tenant's widget has the key.",
  413: `payload_too_large: the body is over ${maxBodyBytes} bytes.`,
  415: "unsupported_media_type: the body is not application/json.",
  429: "rate_limited: retry after Retry-After seconds.",
  500: "internal: an unexpected failure.",
  503:
    "A transient failure (overloaded, unavailable, timeout …): retry after Retry-After seconds with the same Idempotency-Key.",
};

/** The component responses: the error body, by status, with what the status means here. */
export const errorResponses = Object.fromEntries(
  Object.entries(errorDescriptions).map(([status, description]) => [
    status,
    { description, content: { "application/json": { schema: ref("Error") } } },
  ]),
);
