/**
 * The {@linkcode Transport} of a cluster: core NATS with MessagePack payloads.
 *
 * The connection reconnects forever, so a process comes back by itself after
 * a NATS restart; while it is down, requests fail fast and publishes are
 * dropped (the client's own reconnect buffer is bypassed on purpose: work
 * replayed minutes late is worse than work refused now).
 *
 * @module
 */
import {
  connect,
  createInbox,
  ErrorCode,
  Events,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NatsError,
  ServiceError,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
} from "nats";
import { answer, decodePayload, deliver, encodePayload } from "./_messages.ts";
import { type PendingRequest, TransportLink } from "./_link.ts";
import { createLogger, type Logger } from "../telemetry/log.ts";
import {
  type MessageHandler,
  type MessageHeaders,
  NoRespondersError,
  type RequestHandler,
  type RequestOptions,
  type ServeOptions,
  type Subscription,
  type Transport,
  TransportRemoteError,
  TransportUnavailableError,
} from "./transport.ts";

/** Options of {@linkcode connectNatsTransport}. */
export interface NatsTransportOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  url: string | string[];
  /** Connection name the NATS server shows in its monitoring, e.g. the node id. */
  name: string;
  /** Where problems with inbound messages are logged. */
  logger?: Logger;
}

/**
 * Connect to NATS. Waits (retrying) until the server is first reachable, so
 * a process may start before NATS does.
 */
export async function connectNatsTransport(options: NatsTransportOptions): Promise<NatsTransport> {
  const connection = await connect({
    servers: options.url,
    name: options.name,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    // A stack trace captured per operation, for errors that rarely come.
    noAsyncTraces: true,
  });
  const logger = options.logger ?? createLogger({ component: "nats", connection: options.name });
  return new NatsTransport(connection, logger);
}

/** A {@linkcode Transport} over one NATS connection; made by {@linkcode connectNatsTransport}. */
export class NatsTransport implements Transport {
  readonly #connection: NatsConnection;
  readonly #logger: Logger;
  readonly #link: TransportLink;
  // One subscription takes every reply, each request's token after its
  // prefix: the client's own request() allocates errors with stack traces
  // (two per request, even one that succeeds) and a timer race per call.
  readonly #inbox: string;
  // Publishes wait for the end of the event loop's turn, so those of many
  // callbacks (each HTTP request is its own) leave in one write: the client
  // writes once per microtask checkpoint, and nats-server's CPU goes with
  // its reads.
  #outgoing: (() => void)[] = [];
  #closing?: Promise<void>;

  /** Wrap an open connection; the transport owns it from now on. */
  constructor(connection: NatsConnection, logger: Logger) {
    this.#connection = connection;
    this.#logger = logger;
    this.#link = new TransportLink(!connection.isClosed(), logger);
    this.#inbox = `${createInbox()}.`;
    connection.subscribe(`${this.#inbox}*`, {
      callback: (error, message) => {
        if (error) this.#logger.error("the reply inbox failed", { error: `${error}` });
        else this.#reply(message);
      },
    });
    this.#watch();
  }

  get connected(): boolean {
    return this.#link.connected;
  }

  onStatus(listener: (connected: boolean) => void): void {
    this.#link.onStatus(listener);
  }

  request(subject: string, payload: unknown, options: RequestOptions): Promise<unknown> {
    let pending: PendingRequest;
    try {
      pending = this.#link.request(subject, options.timeoutMs, options.signal);
    } catch (error) {
      return Promise.reject(error);
    }
    const data = encodePayload(payload);
    const headers = options.headers && toNatsHeaders(options.headers);
    this.#send(() => {
      try {
        this.#connection.publish(subject, data, { reply: this.#inbox + pending.token, headers });
      } catch (error) {
        pending.reject(requestError(error));
      }
    });
    return pending.promise;
  }

  serve(subject: string, handler: RequestHandler, options: ServeOptions = {}): Subscription {
    const subscription = this.#connection.subscribe(subject, {
      queue: options.queue,
      callback: (error, message) => {
        if (error) this.#logger.error("a served subject failed", { subject, error: `${error}` });
        else this.#respond(message, handler);
      },
    });
    return { close: () => this.#unsubscribe(() => subscription.unsubscribe()) };
  }

  publish(subject: string, payload: unknown, headers?: MessageHeaders): void {
    if (!this.#link.connected) return;
    const data = encodePayload(payload);
    const encodedHeaders = headers && toNatsHeaders(headers);
    this.#send(() => {
      try {
        this.#connection.publish(subject, data, { headers: encodedHeaders });
      } catch (error) {
        this.#logger.warn("dropped a message", { subject, error: `${error}` });
      }
    });
  }

  #send(write: () => void): void {
    if (this.#outgoing.push(write) === 1) setImmediate(() => this.#flushOutgoing());
  }

  #flushOutgoing(): void {
    const writes = this.#outgoing;
    this.#outgoing = [];
    for (const write of writes) write();
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    const subscription = this.#connection.subscribe(subject, {
      callback: (error, message) => {
        if (error) {
          this.#logger.error("a subscription failed", { subject, error: `${error}` });
          return;
        }
        const headers = fromNatsHeaders(message.headers);
        deliver(message.subject, message.data, headers, handler, this.#logger);
      },
    });
    return { close: () => this.#unsubscribe(() => subscription.unsubscribe()) };
  }

  close(): Promise<void> {
    return this.#closing ??= this.#shutdown();
  }

  async #shutdown(): Promise<void> {
    this.#flushOutgoing();
    // Draining flushes over the wire; with the link down it would wait for a
    // reconnect that may never come.
    if (this.#link.connected) await this.#connection.drain();
    else await this.#connection.close();
    this.#link.set(false);
  }

  async #respond(message: Msg, handler: RequestHandler): Promise<void> {
    const outcome = await answer(
      message.subject,
      message.data,
      fromNatsHeaders(message.headers),
      handler,
      this.#logger,
    );
    // The client would buffer the reply until it reconnects; by then the
    // requester, whose link went down too, has long given up on it.
    if (!this.#link.connected) return;
    try {
      if ("data" in outcome) {
        message.respond(outcome.data);
      } else {
        const headers = natsHeaders();
        // A header value cannot span lines.
        headers.set(ServiceErrorHeader, outcome.error.replace(/[\r\n]+/g, " "));
        headers.set(ServiceErrorCodeHeader, "500");
        message.respond(new Uint8Array(), { headers });
      }
    } catch (error) {
      // The connection closed while the handler ran; the requester has
      // already failed with TransportUnavailableError.
      this.#logger.warn("could not send a reply", { subject: message.subject, error: `${error}` });
    }
  }

  #reply(message: Msg): void {
    const request = this.#link.pending(message.subject.slice(this.#inbox.length));
    if (!request) return; // answered too late: timed out, aborted or failed already
    const subject = request.subject;
    if (message.data.length === 0 && message.headers?.code === 503) {
      return request.reject(new NoRespondersError(`nobody serves ${subject}`));
    }
    const failure = ServiceError.toServiceError(message);
    if (failure) return request.reject(new TransportRemoteError(`${subject}: ${failure.message}`));
    try {
      request.resolve(decodePayload(message.data));
    } catch (error) {
      request.reject(new TransportRemoteError(`${subject}: undecodable reply`, { cause: error }));
    }
  }

  // Closing a subscription after the connection has closed is a no-op, not an error.
  #unsubscribe(unsubscribe: () => void): void {
    if (!this.#connection.isClosed()) unsubscribe();
  }

  // The status stream never ends, not even on close, so nobody awaits this.
  async #watch(): Promise<void> {
    for await (const status of this.#connection.status()) {
      if (status.type === Events.Disconnect) {
        this.#logger.warn("disconnected from NATS; reconnecting", { server: status.data });
        this.#link.set(false);
      } else if (status.type === Events.Reconnect) {
        this.#logger.info("reconnected to NATS", { server: status.data });
        this.#link.set(true);
      }
    }
  }
}

function toNatsHeaders(record: MessageHeaders): MsgHdrs | undefined {
  const keys = Object.keys(record);
  if (keys.length === 0) return undefined;
  const headers = natsHeaders();
  for (const key of keys) headers.set(key, record[key]);
  return headers;
}

// Most messages carry none: they share one frozen record.
const noHeaders: MessageHeaders = Object.freeze({});

function fromNatsHeaders(headers: MsgHdrs | undefined): MessageHeaders {
  if (!headers) return noHeaders;
  const record: MessageHeaders = {};
  for (const [key, values] of headers) record[key] = values[0];
  return record;
}

// What a failed publish of a request means to the requester.
function requestError(error: unknown): unknown {
  if (!(error instanceof NatsError)) return error;
  switch (error.code) {
    case ErrorCode.ConnectionClosed:
    case ErrorCode.ConnectionDraining:
    case ErrorCode.Disconnect:
      return new TransportUnavailableError(`not connected to the bus`, { cause: error });
    default:
      return error;
  }
}
