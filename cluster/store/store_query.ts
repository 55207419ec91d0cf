/**
 * Read-only store queries an edge sends to any node over the bus, so edges
 * need no database connection of their own.
 *
 * @module
 */
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../../actors/decider.ts";
import { effectiveSettings } from "./tenant_directory.ts";
import { actorKey } from "../actor_key.ts";
import { type DeadLetter, type EventStore, WidgetKeyTakenError } from "./event_store.ts";
import type { Page, ProjectionQuery, WidgetTenant } from "../protocol.ts";
import { InvalidCursorError } from "./list_cursor.ts";

/** A query for an actor's history, a projection list, or a tenant (by id or widget key). */
export type QueryRequest =
  | { op: "events"; address: ActorAddress; afterSeq: number; limit: number }
  | { op: "list"; query: ProjectionQuery }
  | {
    op: "messages";
    address: ActorAddress;
    numbering: "seq" | "publicSeq";
    after: number;
    limit: number;
  }
  | { op: "settings"; tenant: string }
  | { op: "putSettings"; tenant: string; settings: StoredTenantSettings }
  | { op: "widgetTenant"; key: string }
  | { op: "deadLetters"; limit: number };

/** The answer to a {@linkcode QueryRequest}. */
export type QueryResponse =
  | { ok: true; page: Page<unknown> }
  | { ok: true; settings: TenantSettings }
  | { ok: true; widgetTenant: WidgetTenant | null }
  | { ok: true; deadLetters: DeadLetter[] }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** Run a query against the store. */
export async function queryStore(store: EventStore, request: QueryRequest): Promise<QueryResponse> {
  try {
    if (request?.op === "events") {
      const { address, afterSeq, limit } = request;
      const items = await store.events(actorKey(address), afterSeq, limit + 1);
      return { ok: true, page: pageOf(items, limit, (event) => event.seq) };
    }
    if (request?.op === "list") return { ok: true, page: await store.list(request.query) };
    if (request?.op === "messages") {
      const { address, numbering, after, limit } = request;
      const items = await store.messages(actorKey(address), numbering, after, limit + 1);
      return { ok: true, page: pageOf(items, limit, (message) => Number(message[numbering])) };
    }
    if (request?.op === "settings") {
      return { ok: true, settings: effectiveSettings(await store.tenantSettings(request.tenant)) };
    }
    if (request?.op === "putSettings") {
      await store.putTenantSettings(request.tenant, request.settings);
      return { ok: true, settings: effectiveSettings(request.settings) };
    }
    if (request?.op === "widgetTenant") {
      const found = await store.tenantByWidgetKey(request.key);
      const widgetTenant = found && { ...found, settings: effectiveSettings(found.settings) };
      return { ok: true, widgetTenant };
    }
    if (request?.op === "deadLetters") {
      return { ok: true, deadLetters: await store.outboxDeadLetters(request.limit) };
    }
    return { ok: false, error: { code: "validation", message: "unknown query", retryable: false } };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      return { ok: false, error: { code: "validation", message: error.message, retryable: false } };
    }
    if (error instanceof WidgetKeyTakenError) {
      return {
        ok: false,
        error: { code: "widget_key_taken", message: error.message, retryable: false },
      };
    }
    return { ok: false, error: { code: "unavailable", message: String(error), retryable: true } };
  }
}

// Histories are read one item past the page: whether it came says if more follow.
function pageOf<T>(items: T[], limit: number, numberOf: (item: T) => number): Page<T> {
  const page = items.slice(0, limit);
  return { items: page, nextCursor: items.length > limit ? String(numberOf(page.at(-1)!)) : null };
}

/** A query that failed; `code` and `retryable` as in actor errors. */
export class QueryFailedError extends Error {
  override name = "QueryFailedError";
  constructor(readonly code: string, message: string, readonly retryable: boolean) {
    super(message);
  }
}

/** The answer of a successful response; throws {@linkcode QueryFailedError} otherwise. */
export function unwrapQuery<T>(response: QueryResponse): T {
  if (!response.ok) {
    throw new QueryFailedError(
      response.error.code,
      response.error.message,
      response.error.retryable,
    );
  }
  if ("page" in response) return response.page as T;
  if ("settings" in response) return response.settings as T;
  if ("deadLetters" in response) return response.deadLetters as T;
  return response.widgetTenant as T;
}
