/**
 * The shapes of API inputs (request bodies and query strings) as valibot
 * schemas. They check types, enums and lengths only: the actors' deciders
 * are the authority on what a command means. Every message is a predicate ("must
 * be …") that the validator prefixes with the field's name.
 *
 * Bodies are strict objects: an unknown field is refused rather than ignored,
 * so a misspelt optional field (or a `tenant`, which only the token names)
 * fails loudly instead of silently doing less. Query strings ignore unknown
 * parameters, as caches and proxies add their own.
 *
 * @module
 */
import * as v from "valibot";
import type { Priority } from "../../actors/decider.ts";
import type { SessionStatus } from "../../actors/session.ts";
import type { TicketStatus } from "../../actors/ticket.ts";
import { isAddressPart } from "../ids.ts";
import { isLanguageTag } from "./_widget_routing.ts";

/** Ticket priorities, lowest first. */
export const priorities = [
  "low",
  "normal",
  "high",
  "urgent",
] as const satisfies readonly Priority[];

/** Ticket statuses a list may filter on. */
export const ticketStatuses = [
  "new",
  "assigned",
  "in_progress",
  "pending",
  "resolved",
  "closed",
] as const satisfies readonly TicketStatus[];

/** Conversation statuses a list may filter on. */
export const conversationStatuses = [
  "queued",
  "assigned",
  "closed",
] as const satisfies readonly SessionStatus[];

/** The largest page a list endpoint serves. */
export const maxPageSize = 200;

/** The page size when a list request names none. */
export const defaultPageSize = 50;

function text(min: number, max: number) {
  return v.pipe(
    v.string("must be a string"),
    v.minLength(min, `must be at least ${min} characters`),
    v.maxLength(max, `must be at most ${max} characters`),
  );
}

// Teams name queue actors, so a team must be a valid address part.
const team = v.pipe(
  v.string("must be a string"),
  v.check(isAddressPart, "must be 1-128 letters, digits or ._:- starting with a letter or digit"),
  v.description("1-128 letters, digits or `._:-`, starting with a letter or digit."),
);
const subject = text(1, 200);
const messageBody = text(1, 20_000);
const reason = text(1, 500);
const userId = v.pipe(text(1, 200), v.description("The `sub` of a user."));
const priority = v.picklist(priorities, `must be one of ${priorities.join(", ")}`);

function tagList(min: number) {
  return v.pipe(
    v.array(text(1, 40), "must be an array of strings"),
    v.minLength(min, `must hold at least ${min} tag`),
    v.maxLength(20, "must hold at most 20 tags"),
  );
}

/** `POST /v1/tickets` */
export const createTicketBody = v.strictObject({
  subject,
  body: messageBody,
  priority: v.optional(priority),
  tags: v.optional(tagList(0)),
  team: v.optional(team),
  requester: v.optional(
    v.pipe(userId, v.description("The customer the ticket is for; the caller by default.")),
  ),
});

/** Commands that take no arguments: claim, unassign, resolve, close, reopen. */
export const noArguments = v.strictObject({});

/** `POST /v1/tickets/{id}/assign` */
export const assignBody = v.strictObject({ agent: userId });

/** `POST /v1/tickets/{id}/transfer` */
export const transferBody = v.strictObject({
  to: v.union(
    [v.strictObject({ agent: userId }), v.strictObject({ team })],
    'must be {"agent": "<sub>"} or {"team": "<team>"}',
  ),
  reason,
});

/** `POST /v1/conversations/{id}/transfer` */
export const transferConversationBody = v.strictObject({
  to: v.pipe(userId, v.description("The agent who takes the conversation over.")),
  reason: v.optional(
    v.pipe(reason, v.description("Why, for the agents; the visitor is not shown it.")),
  ),
});

/** `POST /v1/tickets/{id}/comments` */
export const commentBody = v.strictObject({
  body: messageBody,
  visibility: v.optional(
    v.picklist(["public", "internal"], "must be public or internal"),
    "public",
  ),
  pending: v.optional(
    v.pipe(
      v.boolean("must be true or false"),
      v.description("Set the ticket to pending (waiting on the customer) with this reply."),
    ),
  ),
});

/** `POST /v1/tickets/{id}/priority` */
export const priorityBody = v.strictObject({ priority });

/** `POST /v1/tickets/{id}/tags` and `POST /v1/tickets/{id}/untag` */
export const tagsBody = v.strictObject({ tags: tagList(1) });

/** `POST /v1/tickets/{id}/escalate` */
export const escalateBody = v.strictObject({
  level: v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(1, "must be at least 1"),
  ),
  reason,
});

function wholeNumber(min: number, max: number, fallback: number, description: string) {
  return v.pipe(
    v.optional(v.string(), String(fallback)),
    v.regex(/^\d{1,15}$/, "must be a whole number"),
    v.transform(Number),
    v.number(),
    v.integer(),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
    v.description(description),
  );
}

const pageSize = wholeNumber(
  1,
  maxPageSize,
  defaultPageSize,
  `Page size, ${defaultPageSize} when absent.`,
);

// Lists of actors' projections differ only in the statuses they filter on.
function listQuery<const S extends readonly string[]>(statuses: S) {
  return v.object({
    status: v.optional(v.picklist(statuses, `must be one of ${statuses.join(", ")}`)),
    assignee: v.optional(userId),
    limit: pageSize,
    cursor: v.optional(
      v.pipe(text(1, 1000), v.description("`nextCursor` of the previous page.")),
    ),
  });
}

/** `GET /v1/tickets` */
export const listTicketsQuery = listQuery(ticketStatuses);

/** `GET /v1/conversations` */
export const listConversationsQuery = listQuery(conversationStatuses);

function afterQuery(items: string) {
  return v.object({
    after: wholeNumber(
      0,
      Number.MAX_SAFE_INTEGER,
      0,
      `Serve the ${items} after this sequence number; 0 when absent.`,
    ),
    limit: pageSize,
  });
}

/** `GET /v1/tickets/{id}/events` */
export const eventsQuery = afterQuery("events");

/** `GET /v1/conversations/{id}/messages` */
export const messagesQuery = afterQuery("messages");

const minutes = v.pipe(
  v.number("must be a number"),
  v.check(
    (n) => Number.isFinite(n) && n > 0 && n <= 525_600,
    "must be minutes over 0, at most a year",
  ),
);
const slaTargets = v.strictObject({ firstResponseMinutes: minutes, resolutionMinutes: minutes });

const widgetKey = v.pipe(
  v.string("must be a string"),
  v.regex(/^[A-Za-z0-9_-]{16,128}$/, "must be 16-128 letters, digits, _ or -"),
  v.description("The widget's public key: 16-128 of `A-Za-z0-9_-`."),
);

const languageTag = v.pipe(
  v.string("must be a string"),
  v.maxLength(35, "must be at most 35 characters"),
  v.check(isLanguageTag, "must be a BCP 47 language tag, e.g. de or pt-BR"),
);

const topicName = v.pipe(
  v.string("must be a string"),
  v.regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/,
    "must be 1-80 letters, digits or ._- starting with a letter or digit",
  ),
);

// As the queue bounds an item's skills, so that it never refuses a chat's arrival.
const skillNames = v.pipe(
  v.array(
    v.pipe(text(1, 80), v.check((name) => name.trim() !== "", "must not be blank")),
    "must be an array of skill names",
  ),
  v.maxLength(50, "must list at most 50 skills"),
);

const widgetTopics = v.pipe(
  v.record(
    topicName,
    v.strictObject({ skills: v.optional(skillNames), optionalSkills: v.optional(skillNames) }),
  ),
  v.check((topics) => Object.keys(topics).length <= 100, "must have at most 100 topics"),
  v.description(
    "What a chat may be about, by the name a page passes as `topic`, with the skills its agent needs (`skills`) or had better have (`optionalSkills`).",
  ),
);

const widgetSettings = v.pipe(
  v.strictObject({
    key: widgetKey,
    identitySecret: v.optional(
      v.pipe(
        text(16, 256),
        v.description("Signs visitor ids (HMAC-SHA256) on the tenant's servers. Never read back."),
      ),
    ),
    requireIdentity: v.optional(
      v.pipe(
        v.boolean("must be true or false"),
        v.description("Refuse visitors without a valid identityHash."),
      ),
    ),
    allowedOrigins: v.optional(
      v.pipe(
        v.array(
          v.pipe(
            v.string("must be a string"),
            v.regex(
              /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?$/,
              "must be an origin: scheme, host and optional port, e.g. https://shop.example",
            ),
          ),
          "must be an array of origins",
        ),
        v.maxLength(100, "must list at most 100 origins"),
        v.description(
          "Origins whose pages may embed the widget (CORS and the WebSocket's Origin); absent: any.",
        ),
      ),
    ),
    topics: v.optional(widgetTopics),
    languages: v.optional(
      v.pipe(
        v.array(languageTag, "must be an array of language tags"),
        v.maxLength(20, "must list at most 20 languages"),
        v.description(
          "Languages (BCP 47) the agents serve in: a visitor whose browser language matches one waits for an agent who speaks it.",
        ),
      ),
    ),
  }),
  // Without a secret no visitor could prove who they are, and none could chat.
  v.forward(
    v.check(
      (widget) => !widget.requireIdentity || widget.identitySecret !== undefined,
      "must be set when requireIdentity is true",
    ),
    ["identitySecret"],
  ),
);

const count = (max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(0, "must be 0 or more"),
    v.maxValue(max, `must be at most ${max}`),
  );

// Options go to a router as JSON; a cap on their size keeps every call small.
const routerOptions = v.pipe(
  v.record(v.string(), v.unknown()),
  v.check((options) => JSON.stringify(options).length <= 8_192, "must be at most 8 KiB of JSON"),
);

const routingSettings = v.strictObject({
  router: v.optional(
    v.pipe(
      v.string("must be a string"),
      v.regex(
        /^[a-z0-9][a-z0-9._-]{0,79}$/,
        "must be 1-80 of a-z, 0-9, ._- starting with a letter or digit",
      ),
      v.description(
        "A built-in router (round-robin, least-loaded, skills-weighted, sticky) or a plugin's name.",
      ),
    ),
  ),
  routerOptions: v.optional(routerOptions),
  offerSeconds: v.optional(
    v.pipe(count(600), v.description("Seconds to accept an offer; 0 assigns directly.")),
  ),
  capacity: v.optional(v.strictObject({
    chats: v.optional(count(1_000)),
    tickets: v.optional(count(1_000)),
  })),
  relaxation: v.optional(
    v.pipe(
      v.array(v.strictObject({
        afterMs: count(86_400_000),
        drop: v.picklist(["optional", "required"], "must be optional or required"),
      })),
      v.maxLength(10, "must have at most 10 steps"),
    ),
  ),
  releaseAfterSeconds: v.optional(count(86_400)),
  maxWaiting: v.optional(v.pipe(count(100_000), v.minValue(1, "must be at least 1"))),
});

/** `POST /v1/admin/settings` */
export const tenantSettingsBody = v.strictObject({
  sla: v.optional(v.strictObject({
    low: v.optional(slaTargets),
    normal: v.optional(slaTargets),
    high: v.optional(slaTargets),
    urgent: v.optional(slaTargets),
  })),
  reopenWindowMinutes: v.optional(
    v.pipe(
      v.number("must be a number"),
      v.check((n) => Number.isFinite(n) && n >= 0 && n <= 525_600, "must be 0 to 525600 minutes"),
    ),
  ),
  chat: v.optional(v.strictObject({
    waitLimitMinutes: v.optional(minutes),
    idleCloseMinutes: v.optional(minutes),
  })),
  widget: v.optional(widgetSettings),
  routing: v.optional(routingSettings),
});

/** `POST /v1/widget/sessions` */
export const widgetSessionBody = v.pipe(
  v.strictObject({
    widgetKey,
    visitorId: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1-128 letters, digits or ._:-"),
        v.description(
          "A customer id signed by identityHash, or the anonymous id a bootstrap answered before; any other is replaced by a new anonymous id.",
        ),
      ),
    ),
    name: v.optional(text(1, 200)),
    email: v.optional(
      v.pipe(text(1, 320), v.regex(/^[^\s@]+@[^\s@]+$/, "must be an email address")),
    ),
    conversationId: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.check(
          isAddressPart,
          "must be 1-128 letters, digits or ._:- starting with a letter or digit",
        ),
        v.description(
          "The visitor's chat to go on with (a token about to expire): when it is still open and the visitor's own, the answer is a fresh token for it and no new conversation opens.",
        ),
      ),
    ),
    identityHash: v.optional(
      v.pipe(
        v.string("must be a string"),
        v.regex(/^[0-9a-fA-F]{64}$/, "must be 64 hex digits"),
        v.description("Hex HMAC-SHA256 of visitorId under the tenant's identitySecret."),
      ),
    ),
    topic: v.optional(
      v.pipe(
        topicName,
        v.description(
          "One of the widget's topics: a new chat is routed to agents with its skills. An unknown one is 400 unknown_topic.",
        ),
      ),
    ),
    language: v.optional(
      v.pipe(
        languageTag,
        v.description(
          "The visitor's language (the browser's): a new chat matching one of the widget's languages waits for an agent who speaks it.",
        ),
      ),
    ),
  }),
  v.forward(
    v.check(
      (body) => body.identityHash === undefined || body.visitorId !== undefined,
      "must come with the visitorId it signs",
    ),
    ["identityHash"],
  ),
);
