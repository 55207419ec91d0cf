// The connected/disconnected state of one transport, shared by both
// implementations: status listeners, and requests that live only as long as
// the link does, so callers fail fast instead of waiting out a NATS outage.
import { abortable } from "../abortable.ts";
import type { Logger } from "../telemetry/log.ts";
import { TransportUnavailableError } from "./transport.ts";

/** One transport's link to the bus. */
export class TransportLink {
  #connected: boolean;
  // Aborted when the link drops: a reply cannot arrive over a dead link, so
  // every request in flight fails at once rather than at its timeout.
  #up = new AbortController();
  readonly #listeners: ((connected: boolean) => void)[] = [];
  readonly #logger: Logger;

  constructor(connected: boolean, logger: Logger) {
    this.#connected = connected;
    this.#logger = logger;
    if (!connected) this.#up.abort(unavailable());
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
    if (connected) this.#up = new AbortController();
    else this.#up.abort(unavailable());
    for (const listener of this.#listeners) {
      try {
        listener(connected);
      } catch (error) {
        this.#logger.error("a status listener failed", { error: `${error}` });
      }
    }
  }

  /**
   * Run `send` if the link is up, settling with its result unless the link
   * drops or one of `signals` aborts first (then with that reason).
   */
  async guard<T>(send: () => Promise<T>, ...signals: (AbortSignal | undefined)[]): Promise<T> {
    const watched = [this.#up.signal];
    for (const signal of signals) {
      if (!signal) continue;
      signal.throwIfAborted();
      watched.push(signal);
    }
    if (!this.#connected) throw unavailable();
    return await abortable(send(), watched);
  }
}

function unavailable(): TransportUnavailableError {
  return new TransportUnavailableError("not connected to the bus");
}
