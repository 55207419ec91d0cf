// How payloads become bytes on the bus and how inbound bytes reach handlers,
// shared by the transports so both treat bad input the same way.
import { Decoder, Encoder } from "@msgpack/msgpack";
import type { Logger } from "../telemetry/log.ts";
import type { MessageHandler, MessageHeaders, RequestHandler } from "./transport.ts";

// One encoder and decoder for the process: the library's top-level functions
// allocate a fresh one (and its buffer) per call.
const encoder = new Encoder();
const decoder = new Decoder();

/** The MessagePack encoding of `payload`. */
export function encodePayload(payload: unknown): Uint8Array {
  return encoder.encode(payload);
}

/** The value `bytes` encode; throws on anything that is not one whole MessagePack value. */
export function decodePayload(bytes: Uint8Array): unknown {
  // Decoded byte strings are views into the input: a private copy keeps them
  // from aliasing a buffer the client reuses or another receiver shares, and
  // makes them plain Uint8Arrays rather than the client's Buffer.
  return decoder.decode(new Uint8Array(bytes));
}

/** What a server sends back: the encoded reply, or why there is none. */
export type Answer = { data: Uint8Array } | { error: string };

/** Hand a published message to a subscriber, logging (not throwing) what goes wrong. */
export function deliver(
  subject: string,
  data: Uint8Array,
  headers: MessageHeaders,
  handler: MessageHandler,
  logger: Logger,
): void {
  let payload: unknown;
  try {
    payload = decodePayload(data);
  } catch (error) {
    logger.warn("skipped an undecodable message", {
      subject,
      bytes: data.length,
      error: `${error}`,
    });
    return;
  }
  const failed = (error: unknown) =>
    logger.error("a subscriber failed", { subject, error: `${error}` });
  try {
    // The handler type says void, but an async function fits it too; its
    // rejection must not surface as an unhandled one and end the process.
    const result: unknown = handler(payload, headers);
    if (result instanceof Promise) result.catch(failed);
  } catch (error) {
    failed(error);
  }
}

/** Run a server's handler on one request and encode its outcome. */
export async function answer(
  subject: string,
  data: Uint8Array,
  headers: MessageHeaders,
  handler: RequestHandler,
  logger: Logger,
): Promise<Answer> {
  let payload: unknown;
  try {
    payload = decodePayload(data);
  } catch (error) {
    logger.warn("refused an undecodable request", {
      subject,
      bytes: data.length,
      error: `${error}`,
    });
    return { error: "undecodable request" };
  }
  try {
    return { data: encodePayload(await handler(payload, headers)) };
  } catch (error) {
    logger.error("a request handler failed", { subject, error: `${error}` });
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
