/**
 * The shapes of the inputs (request bodies and query strings) of the ticket
 * and conversation routes as valibot schemas; those of the tenant's settings
 * and the widget bootstrap are in `settings_schemas.ts`, built alike. They
 * check types, enums and lengths only: the actors' deciders are the authority
 * on what a command means. Every message is a predicate ("must be …") that the
 * validator prefixes with the field's name.
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

/** A string of `min` to `max` characters. */
export function text(min: number, max: number) {
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
