/**
 * A {@linkcode Transport} in memory: the bus of a standalone process, and a
 * fast stand-in for NATS in tests of the layers above the transport.
 *
 * Several transports attach to one {@linkcode InProcessBus} and talk as if
 * they were processes on one NATS server: the same subject wildcards (`*`,
 * `>`), queue groups, asynchronous delivery, and payloads copied through
 * MessagePack so no reference is shared between sender and receiver.
 *
 * @module
 */
import { type Answer, answer, decodePayload, deliver, encodePayload } from "./_messages.ts";
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
} from "./transport.ts";

/** Options of {@linkcode InProcessBus.connect}. */
export interface InProcessTransportOptions {
  /** Names the transport in its log lines. */
  name?: string;
  /** Where problems with inbound messages are logged. */
  logger?: Logger;
}

/** A message bus in memory that any number of transports attach to. */
export class InProcessBus {
  readonly #core = new BusCore();

  /** A new transport attached to this bus. */
  connect(options: InProcessTransportOptions = {}): Transport {
    const name = options.name ?? "in-process";
    const logger = options.logger ?? createLogger({ component: "bus", connection: name });
    return new InProcessTransport(this.#core, logger);
  }

  /**
   * Take the whole bus down or bring it back, as a NATS outage would: every
   * attached transport reports the change, fails requests and drops
   * publishes while down, and keeps its subscriptions for when it is back.
   */
  setOnline(online: boolean): void {
    this.#core.setOnline(online);
  }
}

type Reply = (answer: Answer) => void;

interface Receiver {
  pattern: string[];
  queue?: string;
  /** Handle one message; `reply` is there when the message is a request. */
  receive(subject: string, data: Uint8Array, headers: MessageHeaders, reply?: Reply): void;
}

class BusCore {
  readonly #exact = new Map<string, Set<Receiver>>();
  readonly #wildcard = new Set<Receiver>();
  readonly #links = new Set<TransportLink>();
  #online = true;

  get online(): boolean {
    return this.#online;
  }

  attach(link: TransportLink): void {
    this.#links.add(link);
  }

  detach(link: TransportLink): void {
    this.#links.delete(link);
  }

  setOnline(online: boolean): void {
    this.#online = online;
    for (const link of this.#links) link.set(online);
  }

  add(receiver: Receiver): void {
    if (receiver.pattern.some(isWildcard)) {
      this.#wildcard.add(receiver);
    } else {
      const subject = receiver.pattern.join(".");
      const receivers = this.#exact.get(subject) ?? new Set();
      this.#exact.set(subject, receivers.add(receiver));
    }
  }

  remove(receiver: Receiver): void {
    if (this.#wildcard.delete(receiver)) return;
    const subject = receiver.pattern.join(".");
    const receivers = this.#exact.get(subject);
    receivers?.delete(receiver);
    if (receivers?.size === 0) this.#exact.delete(subject);
  }

  /** Deliver to every plain receiver and one per queue group; returns how many received it. */
  route(subject: string, data: Uint8Array, headers: MessageHeaders, reply?: Reply): number {
    const tokens = subject.split(".");
    const plain: Receiver[] = [];
    const groups = new Map<string, Receiver[]>();
    const sort = (receiver: Receiver) => {
      if (receiver.queue === undefined) return plain.push(receiver);
      const group = groups.get(receiver.queue);
      if (group) group.push(receiver);
      else groups.set(receiver.queue, [receiver]);
    };
    this.#exact.get(subject)?.forEach(sort);
    for (const receiver of this.#wildcard) if (matches(receiver.pattern, tokens)) sort(receiver);
    for (const members of groups.values()) {
      plain.push(members[Math.floor(Math.random() * members.length)]);
    }
    // Asynchronous like a network: a publisher never runs its receivers'
    // code inside its own call stack.
    for (const receiver of plain) {
      queueMicrotask(() => receiver.receive(subject, data, { ...headers }, reply));
    }
    return plain.length;
  }
}

class InProcessTransport implements Transport {
  readonly #core: BusCore;
  readonly #logger: Logger;
  readonly #link: TransportLink;
  readonly #receivers = new Set<Receiver>();

  constructor(core: BusCore, logger: Logger) {
    this.#core = core;
    this.#logger = logger;
    this.#link = new TransportLink(core.online, logger);
    core.attach(this.#link);
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
    const reply = (outcome: Answer) => {
      if ("error" in outcome) {
        pending.reject(new TransportRemoteError(`${subject}: ${outcome.error}`));
      } else pending.resolve(decodePayload(outcome.data));
    };
    try {
      const data = encodePayload(payload);
      if (this.#core.route(subject, data, options.headers ?? {}, reply) === 0) {
        pending.reject(new NoRespondersError(`nobody serves ${subject}`));
      }
    } catch (error) {
      pending.reject(error);
    }
    return pending.promise;
  }

  serve(subject: string, handler: RequestHandler, options: ServeOptions = {}): Subscription {
    return this.#add(subject, options.queue, async (actual, data, headers, reply) => {
      const outcome = await answer(actual, data, headers, handler, this.#logger);
      // A server that went down or away meanwhile cannot reply, as over NATS.
      if (reply && this.#link.connected) reply(outcome);
    });
  }

  publish(subject: string, payload: unknown, headers?: MessageHeaders): void {
    if (!this.#link.connected) return;
    try {
      this.#core.route(subject, encodePayload(payload), headers ?? {});
    } catch (error) {
      this.#logger.warn("dropped a message", { subject, error: `${error}` });
    }
  }

  subscribe(subject: string, handler: MessageHandler): Subscription {
    return this.#add(subject, undefined, (actual, data, headers) => {
      deliver(actual, data, headers, handler, this.#logger);
    });
  }

  close(): Promise<void> {
    for (const receiver of this.#receivers) this.#core.remove(receiver);
    this.#receivers.clear();
    this.#core.detach(this.#link);
    this.#link.set(false);
    return Promise.resolve();
  }

  #add(subject: string, queue: string | undefined, receive: Receiver["receive"]): Subscription {
    const receiver: Receiver = { pattern: subject.split("."), queue, receive };
    this.#receivers.add(receiver);
    this.#core.add(receiver);
    return {
      close: () => {
        if (this.#receivers.delete(receiver)) this.#core.remove(receiver);
      },
    };
  }
}

function isWildcard(token: string): boolean {
  return token === "*" || token === ">";
}

// NATS subject matching: `*` is any one token, a final `>` one or more.
function matches(pattern: string[], tokens: string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === ">") return tokens.length > i;
    if (i >= tokens.length || (pattern[i] !== "*" && pattern[i] !== tokens[i])) return false;
  }
  return pattern.length === tokens.length;
}
