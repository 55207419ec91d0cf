// Deltas wait here for a few milliseconds, merged per tenant, so that a
// burst of updates ships as one message per tenant.

/** Options of {@linkcode DeltaBatch}. */
export interface DeltaBatchOptions<T> {
  /** How long the first delta of a batch waits for others. */
  windowMs: number;
  /** A batch holding this many updates ships at once. */
  maxUpdates: number;
  /** Ships a batch: one merged delta per tenant. */
  ship(deltas: Map<string, Pending<T>>): void;
}

/** One tenant's merged deltas, and when the oldest of them was added (epoch ms). */
export interface Pending<T> {
  delta: T;
  createdMs: number;
}

/** Merges deltas per tenant until the window closes or the batch is full. */
export class DeltaBatch<T extends { merge(other: T): T }> {
  readonly #options: DeltaBatchOptions<T>;
  #pending = new Map<string, Pending<T>>();
  #updates = 0;
  #timer?: ReturnType<typeof setTimeout>;

  constructor(options: DeltaBatchOptions<T>) {
    this.#options = options;
  }

  /** Queue `delta` of `tenant`. */
  add(tenant: string, delta: T): void {
    const queued = this.#pending.get(tenant);
    this.#pending.set(
      tenant,
      queued
        ? { delta: queued.delta.merge(delta), createdMs: queued.createdMs }
        : { delta, createdMs: Date.now() },
    );
    if (++this.#updates >= this.#options.maxUpdates) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#options.windowMs);
  }

  /** Ship what is queued now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return;
    const deltas = this.#pending;
    this.#pending = new Map();
    this.#updates = 0;
    this.#options.ship(deltas);
  }
}
