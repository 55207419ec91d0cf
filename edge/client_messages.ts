/**
 * What a client is told of a failure the runtime answered. A retryable
 * failure's own message may quote a store or bus error (hosts, statements,
 * constraint names), which is the operators' to read in the log; the client
 * learns only that it may retry. Refusals by a decider are written for
 * clients and pass as they are.
 *
 * @module
 */
import { type ActorError, retryableCodes, RuntimeErrors } from "../cluster/protocol.ts";

const retryMessages: Record<string, string> = {
  [RuntimeErrors.overloaded]: "the service is overloaded; retry shortly",
  [RuntimeErrors.timeout]: "the request timed out; retry it",
  [RuntimeErrors.draining]: "the service is restarting; retry shortly",
};

/** True when the client may retry `error` as it is. */
export function isRetryable(error: ActorError): boolean {
  return error.retryable === true || retryableCodes.has(error.code);
}

/** The message a client is shown for `error`. */
export function clientMessage(error: ActorError): string {
  if (!isRetryable(error)) return error.message;
  return retryMessages[error.code] ?? "the service is temporarily unavailable; retry shortly";
}
