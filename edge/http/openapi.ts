/**
 * The OpenAPI 3.1 document of the HTTP API, derived from the route table and
 * the input schemas, so it cannot drift from what the router serves.
 *
 * @module
 */
import type * as v from "valibot";
import { toJsonSchema } from "@valibot/to-json-schema";
import type {
  ApiRoute,
  ClusterRoute,
  FieldsSchema,
  OpsRoute,
  PublicRoute,
  ResponseSchema,
  Route,
} from "./route_types.ts";
import { maxBodyBytes } from "./_body.ts";
import { idempotencyKeyPattern } from "../ids.ts";

type Json = Record<string, unknown>;

/** The OpenAPI document for `routes`. */
export function openApiDocument(routes: readonly Route[]): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    paths[route.path] ??= {};
    paths[route.path][route.method.toLowerCase()] = route.kind === "ops"
      ? opsOperation(route)
      : apiOperation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchboard API",
      version: "1",
      description: [
        "Tickets and live conversations of a helpdesk.",
        "The tenant is always the one named by the caller's token;",
        "public operations (the widget bootstrap, which hands visitors their token) need none.",
        "Every POST honours an `Idempotency-Key` header (1-200 of `A-Za-z0-9._:-`):",
        "a retry with the same key answers the original outcome, and the same key on another",
        "method, path or body answers 422 `idempotency_mismatch`.",
        `Request bodies are JSON objects of at most ${maxBodyBytes} bytes; unknown fields are refused.`,
        'Failures answer `{"error": {"code", "message", "field"?, "details"?}}`;',
        "503 answers carry `Retry-After` and may be retried with the same key.",
      ].join(" "),
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description:
            "HS256 JWT with claims sub, tenant, role (visitor|agent|supervisor|admin), exp; a visitor's also vrf (whether sub is a verified identity). The ops credential has role ops and no tenant.",
        },
      },
      schemas,
      responses: errorResponses,
    },
  };
}

function apiOperation(route: ApiRoute | PublicRoute | ClusterRoute): Json {
  if (route.kind === "cluster") {
    return {
      ...apiOperation({ ...route, kind: "api", roles: [], handle: () => Promise.resolve() }),
      description:
        "Ops credential only: a bearer JWT with role ops and no tenant (deno task token --role ops --sub <you>); every tenant's token is 403.",
      "x-roles": ["ops"],
    };
  }
  const authenticated = route.kind === "api";
  const parameters = [
    ...pathParameters(route.path),
    ...(authenticated && route.query ? queryParameters(route.query) : []),
    ...(route.method === "POST" ? [idempotencyKeyParameter] : []),
  ];
  const errors = [
    400,
    401,
    ...(authenticated ? [403] : []),
    404,
    ...(route.method === "POST" ? [409, 413, 415] : []),
    429,
    500,
    503,
  ];
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(authenticated
      ? {
        description: `Roles: ${route.roles.join(", ")}.`,
        "x-roles": route.roles,
        security: [{ bearer: [] }],
      }
      : { description: "Public: no token.", security: [] }),
    parameters,
    ...(route.body && {
      requestBody: {
        required: route.method === "POST" && hasRequiredFields(route.body),
        content: { "application/json": { schema: jsonSchema(route.body) } },
      },
    }),
    responses: {
      [route.status]: {
        description: "Success.",
        content: { "application/json": { schema: ref(route.response) } },
      },
      ...errorRefs(errors),
    },
  };
}

function opsOperation(route: OpsRoute): Json {
  return {
    operationId: route.operationId,
    summary: route.summary,
    security: [],
    responses: {
      200: { description: "Success.", content: { [route.contentType]: {} } },
      ...errorRefs(route.errors ?? []),
    },
  };
}

function pathParameters(path: string): Json[] {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
    name,
    in: "path",
    required: true,
    description: "1-128 letters, digits or `._:-`, starting with a letter or digit.",
    schema: { type: "string", minLength: 1, maxLength: 128 },
  }));
}

function errorRefs(statuses: readonly number[]): Json {
  return Object.fromEntries(
    statuses.map((status) => [status, { $ref: `#/components/responses/${status}` }]),
  );
}

function queryParameters(query: FieldsSchema<unknown>): Json[] {
  return Object.entries(query.entries).map(([name, schema]) => ({
    name,
    in: "query",
    required: schema.type !== "optional",
    schema: jsonSchema(schema),
  }));
}

function hasRequiredFields(body: FieldsSchema<unknown>): boolean {
  return Object.values(body.entries).some((schema) => schema.type !== "optional");
}

const idempotencyKeyParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Makes the POST safe to retry: the same key (per caller) answers the original result.",
  schema: { type: "string", pattern: idempotencyKeyPattern.source },
};

function jsonSchema(schema: v.GenericSchema): Json {
  // The pipelines' output is what the API takes (query strings become numbers),
  // and `check` predicates carry a description instead.
  const { $schema: _, ...converted } = toJsonSchema(schema, {
    target: "draft-2020-12",
    typeMode: "output",
    ignoreActions: ["check"],
  });
  return converted;
}

function ref(name: ResponseSchema | "Error" | "Message"): Json {
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

const schemas: Record<ResponseSchema | "Error" | "StoredEvent" | "Message", Json> = {
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
  DeadLetters: {
    type: "object",
    required: ["items"],
    properties: {
      items: {
        type: "array",
        items: {
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
        },
      },
    },
  },
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
  AgentList: {
    type: "object",
    required: ["items"],
    properties: {
      items: {
        type: "array",
        items: {
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
        },
      },
    },
  },
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

const errorResponses = Object.fromEntries(
  Object.entries(errorDescriptions).map(([status, description]) => [
    status,
    { description, content: { "application/json": { schema: ref("Error") } } },
  ]),
);
