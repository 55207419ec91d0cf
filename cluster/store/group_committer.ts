/**
 * Group commit: the appends of all actors on a node go to the store in
 * batches, one round trip per batch, while new appends queue behind it.
 *
 * @module
 */
import {
  AppendConflictError,
  type AppendRequest,
  type EventStore,
  StoreUnavailableError,
} from "./event_store.ts";
import { hash32 } from "../placement/hash.ts";
import { tracer } from "../telemetry/tracing.ts";

/** Options of {@linkcode GroupCommitter}. */
export interface GroupCommitterOptions {
  /**
   * Independent batch pipelines (1 by default). An actor always uses the same
   * lane, so its appends reach the store in order. More lanes overlap round
   * trips but make batches smaller: with Postgres on the same two cores, one
   * lane per node committed 40-60% more tickets per second than four.
   */
  lanes?: number;
  /** Most appends in one batch. */
  maxBatch?: number;
  /** Called after every batch with its size and latency in ms. */
  onBatch?: (size: number, ms: number) => void;
}

interface Pending {
  append: AppendRequest;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** Batches appends to an {@linkcode EventStore}. */
export class GroupCommitter {
  #store: EventStore;
  #lanes: { queue: Pending[]; busy: boolean }[];
  #maxBatch: number;
  #onBatch?: (size: number, ms: number) => void;
  #idle: (() => void)[] = [];

  constructor(store: EventStore, options: GroupCommitterOptions = {}) {
    this.#store = store;
    this.#lanes = Array.from({ length: options.lanes ?? 1 }, () => ({ queue: [], busy: false }));
    this.#maxBatch = options.maxBatch ?? 1024;
    this.#onBatch = options.onBatch;
  }

  /**
   * Resolves once the append is durable; rejects with
   * {@linkcode AppendConflictError} when the writer is stale, or
   * {@linkcode StoreUnavailableError} when nothing could be written.
   */
  append(append: AppendRequest): Promise<void> {
    const lane = this.#lanes[hash32(append.actorKey) % this.#lanes.length];
    return new Promise((resolve, reject) => {
      lane.queue.push({ append, resolve, reject });
      if (!lane.busy) this.#drain(lane);
    });
  }

  /** Appends queued or in flight. */
  get pending(): number {
    return this.#lanes.reduce((sum, lane) => sum + lane.queue.length + (lane.busy ? 1 : 0), 0);
  }

  /** Resolves when every append so far has settled. */
  settled(): Promise<void> {
    if (this.#lanes.every((lane) => !lane.busy)) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(lane: { queue: Pending[]; busy: boolean }): Promise<void> {
    lane.busy = true;
    while (lane.queue.length > 0) {
      const batch = lane.queue.splice(0, this.#maxBatch);
      const started = performance.now();
      try {
        const { conflicts } = await tracer.startActiveSpan("commit batch", async (span) => {
          span.setAttribute("sb.batch_size", batch.length);
          try {
            return await this.#store.appendBatch(mergeByActor(batch));
          } finally {
            span.end();
          }
        });
        this.#onBatch?.(batch.length, performance.now() - started);
        for (const item of batch) {
          if (conflicts.has(item.append.actorKey)) {
            item.reject(new AppendConflictError(item.append.actorKey));
          } else item.resolve();
        }
      } catch (error) {
        const failure = error instanceof StoreUnavailableError
          ? error
          : new StoreUnavailableError(String(error), { cause: error });
        for (const item of batch) item.reject(failure);
      }
    }
    lane.busy = false;
    if (this.#lanes.every((l) => !l.busy)) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }
}

// Several turns of one actor in a batch become one append from the first
// expected sequence, carrying the last state's snapshot, timers and projection.
function mergeByActor(batch: Pending[]): AppendRequest[] {
  const merged = new Map<string, AppendRequest>();
  for (const { append } of batch) {
    const earlier = merged.get(append.actorKey);
    if (!earlier) {
      merged.set(append.actorKey, { ...append, events: [...append.events] });
      continue;
    }
    earlier.events.push(...append.events);
    earlier.snapshot = append.snapshot ?? earlier.snapshot;
    earlier.timers = append.timers ?? earlier.timers;
    earlier.projection = append.projection ?? earlier.projection;
    if (append.outbox) earlier.outbox = [...earlier.outbox ?? [], ...append.outbox];
    if (append.idempotency) {
      earlier.idempotency = [...earlier.idempotency ?? [], ...append.idempotency];
    }
  }
  return [...merged.values()];
}
