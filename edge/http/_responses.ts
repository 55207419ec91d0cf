/**
 * JSON answers and the one error shape of the HTTP API:
 * `{"error": {"code", "message", "field"?, "details"?}}`.
 *
 * @module
 */
import { type ActorError, RuntimeErrors } from "../../cluster/protocol.ts";
import { clientMessage, isRetryable } from "../client_messages.ts";

/** Seconds a client is asked to wait before retrying a retryable failure. */
export const retryAfterSeconds = 1;

/**
 * A failure to answer with `status` and the API's error body, thrown to
 * unwind a request to its handler. It is an answer, not a fault, so it is no
 * `Error`: building one costs Deno 4–8 µs, stack or not, which was 4% of the
 * CPU of a refused claim in a storm.
 */
export class HttpError {
  readonly name = "HttpError";
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly extra: {
      field?: string;
      details?: Record<string, unknown>;
      headers?: Record<string, string>;
      /** What went wrong inside, for the log only: never shown to the client. */
      internal?: string;
    } = {},
  ) {}
}

/** A JSON response. */
export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The response for `error`. */
export function errorResponse(error: HttpError): Response {
  const { field, details, headers } = error.extra;
  return jsonResponse(
    error.status,
    { error: { code: error.code, message: error.message, field, details } },
    headers,
  );
}

/** A 503 the client may retry after {@linkcode retryAfterSeconds}. */
export function retryLater(code: string, message: string): HttpError {
  return new HttpError(503, code, message, {
    headers: { "retry-after": String(retryAfterSeconds) },
  });
}

// Codes whose status is not 409; every other rejection by a decider is a
// conflict with the actor's current state (already_claimed, ticket_closed …).
const statusByCode: Record<string, number> = {
  validation: 400,
  [RuntimeErrors.invalid]: 400,
  forbidden: 403,
  [RuntimeErrors.notFound]: 404,
  rate_limited: 429,
  [RuntimeErrors.idempotencyMismatch]: 422,
  // The edge only addresses kinds it knows, so this is a deployment fault.
  [RuntimeErrors.unknownKind]: 500,
  [RuntimeErrors.internal]: 500,
};

/** How an actor's failure answer is told to an HTTP client. */
export function actorFailure(error: ActorError): HttpError {
  if (isRetryable(error)) {
    return new HttpError(503, error.code, clientMessage(error), {
      headers: { "retry-after": String(retryAfterSeconds) },
      internal: error.message,
    });
  }
  return new HttpError(statusByCode[error.code] ?? 409, error.code, error.message, {
    field: error.field,
    details: error.details,
  });
}
