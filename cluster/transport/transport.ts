/**
 * The process-to-process message bus every cluster component talks through
 * (DESIGN §2): NATS in a cluster, an in-memory bus in standalone and in unit
 * tests. Payloads are any MessagePack-encodable value; both implementations
 * copy them through MessagePack, so a value arrives the same way on either.
 *
 * @module
 */

/** String headers carried next to a payload, e.g. `traceparent`. */
export type MessageHeaders = Record<string, string>;

/** Answers one request; the resolved value is the reply. */
export type RequestHandler = (payload: unknown, headers: MessageHeaders) => Promise<unknown>;

/** Receives one published message. */
export type MessageHandler = (payload: unknown, headers: MessageHeaders) => void;

/** A subscription or a served subject; `close` stops delivery. */
export interface Subscription {
  close(): void;
}

/** Options of {@linkcode Transport.request}. */
export interface RequestOptions {
  /** How long to wait for the reply. */
  timeoutMs: number;
  headers?: MessageHeaders;
  /** Gives up on the reply; the request then rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Options of {@linkcode Transport.serve}. */
export interface ServeOptions {
  /** Servers sharing a queue group each get a share of the requests, one server per request. */
  queue?: string;
}

/** A connection to the bus. */
export interface Transport {
  /**
   * Request/reply: resolves with the decoded reply. Rejects with
   * {@linkcode NoRespondersError} when nobody serves the subject,
   * {@linkcode TransportTimeoutError} after `timeoutMs`,
   * {@linkcode TransportUnavailableError} when disconnected (at once: a
   * request is never queued until the bus comes back), or with the signal's
   * reason (an `AbortError` by default) if `signal` aborts.
   */
  request(subject: string, payload: unknown, options: RequestOptions): Promise<unknown>;
  /**
   * Serve requests: the handler's resolved value is the reply. A handler that
   * throws is answered with an error reply the requester sees as
   * {@linkcode TransportRemoteError}; the server keeps serving.
   */
  serve(subject: string, handler: RequestHandler, options?: ServeOptions): Subscription;
  /** Fire and forget. While disconnected the message is dropped; this never throws. */
  publish(subject: string, payload: unknown, headers?: MessageHeaders): void;
  /** Receive published messages; undecodable ones are logged and skipped. */
  subscribe(subject: string, handler: MessageHandler): Subscription;
  /** True while connected. */
  readonly connected: boolean;
  /** Called on every connect/disconnect change, closing included. */
  onStatus(listener: (connected: boolean) => void): void;
  /** Disconnect for good, letting subscriptions drain where the bus supports it. */
  close(): Promise<void>;
}

/** The base of every error a {@linkcode Transport} rejects with. */
export class TransportError extends Error {
  override name = "TransportError";
}

/** Nobody serves the requested subject. */
export class NoRespondersError extends TransportError {
  override name = "NoRespondersError";
}

/** No reply arrived within the request's timeout. */
export class TransportTimeoutError extends TransportError {
  override name = "TransportTimeoutError";
}

/** The transport is disconnected (or closed), so the request was not sent or its reply is lost. */
export class TransportUnavailableError extends TransportError {
  override name = "TransportUnavailableError";
}

/** The serving side failed: its handler threw, or the request or reply could not be decoded. */
export class TransportRemoteError extends TransportError {
  override name = "TransportRemoteError";
}
