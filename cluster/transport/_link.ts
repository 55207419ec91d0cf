// The connected/disconnected state of one transport, shared by both
// implementations: status listeners, and requests that live only as long as
// the link does, so callers fail fast instead of waiting out a NATS outage.
import { scheduleExpiry } from "../abortable.ts";
import type { Logger } from "../telemetry/log.ts";
import { TransportTimeoutError, TransportUnavailableError } from "./transport.ts";

/** One transport's link to the bus. */
export class TransportLink {
  #connected: boolean;
  // A reply cannot arrive over a dead link, so every request in flight
  // fails at once when it drops rather than at its timeout. A set, not an
  // abort signal: a listener per request on one long-lived signal costs a
  // scan of all the others on every add and remove.
  readonly #inFlight = new Map<string, PendingRequest>();
  #nextToken = 0;
  readonly #listeners: ((connected: boolean) => void)[] = [];
  readonly #logger: Logger;

  constructor(connected: boolean, logger: Logger) {
    this.#connected = connected;
    this.#logger = logger;
  }

  get connected(): boolean {
    return this.#connected;
  }

  onStatus(listener: (connected: boolean) => void): void {
    this.#listeners.push(listener);
  }

  /** Record a connect or disconnect; repeats of the current state are ignored. */
  set(connected: boolean): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    if (!connected) {
      for (const request of this.#inFlight.values()) request.reject(unavailable());
    }
    for (const listener of this.#listeners) {
      try {
        listener(connected);
      } catch (error) {
        this.#logger.error("a status listener failed", { error: `${error}` });
      }
    }
  }

  /**
   * A request to `subject` about to be sent: it fails with
   * {@linkcode TransportTimeoutError} after `timeoutMs`, with
   * {@linkcode TransportUnavailableError} if the link drops, and with the
   * signal's reason if `signal` aborts. Throws at once if the link is down
   * or the signal has aborted already.
   */
  request(subject: string, timeoutMs: number, signal?: AbortSignal): PendingRequest {
    signal?.throwIfAborted();
    if (!this.#connected) throw unavailable();
    const token = (this.#nextToken++).toString(36);
    return new PendingRequest(this.#inFlight, token, subject, timeoutMs, signal);
  }

  /** The request in flight under `token`, if it still waits. */
  pending(token: string): PendingRequest | undefined {
    return this.#inFlight.get(token);
  }
}

/** A request waiting for its reply; whichever of reply, failure, timeout or abort comes first wins. */
export class PendingRequest {
  readonly promise: Promise<unknown>;
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  /** Names the request among the link's others, e.g. in a reply subject. */
  readonly token: string;
  /** Where the request goes. */
  readonly subject: string;
  readonly #inFlight: Map<string, PendingRequest>;
  readonly #signal?: AbortSignal;
  readonly #cancelExpiry: () => void;
  #settled = false;

  constructor(
    inFlight: Map<string, PendingRequest>,
    token: string,
    subject: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.token = token;
    this.subject = subject;
    this.#inFlight = inFlight;
    inFlight.set(token, this);
    this.#cancelExpiry = scheduleExpiry(
      timeoutMs,
      () => this.reject(new TransportTimeoutError(`no reply on ${subject} within ${timeoutMs} ms`)),
    );
    this.#signal = signal;
    signal?.addEventListener("abort", this);
  }

  resolve(value: unknown): void {
    if (this.#end()) this.#resolve(value);
  }

  reject(error: unknown): void {
    if (this.#end()) this.#reject(error);
  }

  /** The caller's signal aborted. */
  handleEvent(): void {
    this.reject(this.#signal!.reason);
  }

  #end(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#cancelExpiry();
    this.#inFlight.delete(this.token);
    this.#signal?.removeEventListener("abort", this);
    return true;
  }
}

function unavailable(): TransportUnavailableError {
  return new TransportUnavailableError("not connected to the bus");
}
