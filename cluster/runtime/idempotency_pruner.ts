/**
 * Forgets idempotency records past their time window: a periodic, bounded
 * delete of the oldest, so pruning never holds up appends or another node's
 * pruner, however far behind it is.
 *
 * @module
 */
import type { EventStore } from "../store/event_store.ts";

/** Options of {@linkcode IdempotencyPruner}. */
export interface IdempotencyPrunerOptions {
  store: EventStore;
  /** How long a record is kept, in ms. */
  windowMs: number;
  /** How often to prune; a minute by default. */
  everyMs?: number;
  /** Records deleted per statement; 1,000 by default. */
  batch?: number;
  /** Statements per round at most, so one round stays short; 10 by default. */
  maxBatches?: number;
  now?: () => number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Prunes the idempotency records of the whole store, in small deletes. */
export class IdempotencyPruner {
  #options: Required<Omit<IdempotencyPrunerOptions, "onError">> & IdempotencyPrunerOptions;
  #timer?: ReturnType<typeof setTimeout>;
  #stopped = false;

  constructor(options: IdempotencyPrunerOptions) {
    this.#options = { everyMs: 60_000, batch: 1000, maxBatches: 10, now: Date.now, ...options };
  }

  /** Start pruning every `everyMs`. */
  start(): void {
    this.#stopped = false;
    this.#timer = setTimeout(() => this.#round(), this.#options.everyMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /** Delete expired records until none are left or the round's budget is spent; answers how many went. */
  async prune(): Promise<number> {
    const { store, windowMs, batch, maxBatches, now } = this.#options;
    const before = now() - windowMs;
    let pruned = 0;
    for (let i = 0; i < maxBatches; i++) {
      const deleted = await store.pruneIdempotency(before, batch);
      pruned += deleted;
      if (deleted < batch) break;
    }
    return pruned;
  }

  async #round(): Promise<void> {
    try {
      await this.prune();
    } catch (error) {
      this.#options.onError?.("idempotency prune failed", { error: String(error) });
    }
    if (!this.#stopped) this.#timer = setTimeout(() => this.#round(), this.#options.everyMs);
  }
}
