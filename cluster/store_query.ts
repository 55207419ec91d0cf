/**
 * Read-only store queries an edge sends to any node over the bus, so edges
 * need no database connection of their own.
 *
 * @module
 */
import type { ActorAddress } from "../actors/decider.ts";
import { actorKey } from "./actor_key.ts";
import type { EventStore } from "./event_store.ts";
import type { Page, ProjectionQuery, StoredEvent } from "./protocol.ts";
import { InvalidCursorError } from "./sql_event_store.ts";

/** A query for an actor's history or a projection list. */
export type QueryRequest =
  | { op: "events"; address: ActorAddress; afterSeq: number; limit: number }
  | { op: "list"; query: ProjectionQuery };

/** The answer to a {@linkcode QueryRequest}. */
export type QueryResponse =
  | { ok: true; page: Page<unknown> }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** Run a query against the store. */
export async function queryStore(store: EventStore, request: QueryRequest): Promise<QueryResponse> {
  try {
    if (request?.op === "events") return { ok: true, page: await eventsPage(store, request) };
    if (request?.op === "list") return { ok: true, page: await store.list(request.query) };
    return { ok: false, error: { code: "validation", message: "unknown query", retryable: false } };
  } catch (error) {
    if (error instanceof InvalidCursorError) {
      return { ok: false, error: { code: "validation", message: error.message, retryable: false } };
    }
    return { ok: false, error: { code: "unavailable", message: String(error), retryable: true } };
  }
}

async function eventsPage(
  store: EventStore,
  request: { address: ActorAddress; afterSeq: number; limit: number },
): Promise<Page<StoredEvent>> {
  const items = await store.events(actorKey(request.address), request.afterSeq, request.limit + 1);
  const page = items.slice(0, request.limit);
  return {
    items: page,
    nextCursor: items.length > request.limit ? String(page.at(-1)!.seq) : null,
  };
}

/** A query that failed; `code` and `retryable` as in actor errors. */
export class QueryFailedError extends Error {
  override name = "QueryFailedError";
  constructor(readonly code: string, message: string, readonly retryable: boolean) {
    super(message);
  }
}

/** The page of a successful response; throws {@linkcode QueryFailedError} otherwise. */
export function unwrapQuery(response: QueryResponse): Page<unknown> {
  if (response.ok) return response.page;
  throw new QueryFailedError(response.error.code, response.error.message, response.error.retryable);
}
