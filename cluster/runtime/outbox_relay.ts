/**
 * Delivers the commands actors send each other (their outbox) at least once:
 * right after the sending event commits, and again from the store for
 * entries a crash or an outage left behind. Each command's id is derived from
 * the sending event, so a second delivery has no effect.
 *
 * @module
 */
import type { EventStore, OutboxEntry } from "../store/event_store.ts";
import type { ActorError, ActorRequest, ActorResponse } from "../protocol.ts";
import { collectWanted } from "./_owned_rows.ts";

/** Options of {@linkcode OutboxRelay}. */
export interface OutboxRelayOptions {
  store: EventStore;
  /** Routes a command to its actor's owner. */
  deliver: (request: ActorRequest) => Promise<ActorResponse>;
  /** Whether this node is responsible for a sending actor's leftovers. */
  isLocal?: (actorKey: string) => boolean;
  /** How often leftovers are looked for. */
  pollMs?: number;
  /** An entry older than this is a leftover (its first delivery failed or died). */
  staleMs?: number;
  /** Rows read per query while paging past other nodes' leftovers (500 by default). */
  pageSize?: number;
  /** How long delivered entries gather before one delete forgets them (50 ms by default). */
  forgetAfterMs?: number;
  onError?: (message: string, fields: Record<string, unknown>) => void;
  /** Called for each entry parked in the dead letters. */
  onDeadLetter?: (entry: OutboxEntry, error: ActorError) => void;
}

/**
 * Delivers outbox entries and forgets them once their target accepted them.
 * An entry its target refused for good is parked in the dead letters, since
 * the sender's events already promised its effect (a chat became a ticket).
 */
export class OutboxRelay {
  #options: OutboxRelayOptions & {
    pollMs: number;
    staleMs: number;
    pageSize: number;
    forgetAfterMs: number;
  };
  #inFlight = new Set<string>();
  #delivered: OutboxEntry[] = [];
  #forgetting = false;
  #flushNow?: () => void;
  #poller?: ReturnType<typeof setTimeout>;
  #stopped = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = { pollMs: 2000, staleMs: 5000, pageSize: 500, forgetAfterMs: 50, ...options };
  }

  /** Start looking for leftovers. */
  start(): void {
    this.#poller = setTimeout(() => this.#poll(), this.#options.pollMs);
  }

  /** Stop polling; delivered entries still gathering are forgotten at once. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#poller);
    this.#flushNow?.();
  }

  /** Deliver entries whose events just committed. */
  deliver(entries: OutboxEntry[]): void {
    for (const entry of entries) this.#send(entry);
  }

  async #poll(): Promise<void> {
    const { store, isLocal, staleMs, pollMs, pageSize } = this.#options;
    try {
      const until = Date.now() - staleMs;
      const leftovers = await collectWanted<OutboxEntry>(
        (after) => store.pendingOutbox(until, pageSize, after),
        (entry) => (!isLocal || isLocal(entry.actorKey)) && !this.#inFlight.has(entryId(entry)),
        { pageSize, limit: pageSize },
      );
      for (const entry of leftovers) this.#send(entry);
    } catch (error) {
      this.#options.onError?.("outbox poll failed", { error: String(error) });
    }
    if (!this.#stopped) this.#poller = setTimeout(() => this.#poll(), pollMs);
  }

  async #send(entry: OutboxEntry): Promise<void> {
    const id = entryId(entry);
    if (this.#inFlight.has(id)) return;
    this.#inFlight.add(id);
    try {
      const response = await this.#options.deliver({
        address: entry.address,
        op: "command",
        command: entry.command,
        commandId: entry.commandId,
        deadline: Date.now() + 10_000,
      });
      if (response.ok) this.#forget(entry);
      else if (!response.error.retryable) {
        // A retry cannot change this refusal, and dropping it would lose an
        // effect already promised: park it where ops see it.
        this.#options.onError?.("outbox command refused", { id, error: response.error });
        await this.#options.store.deadLetterOutbox(entry, response.error, Date.now());
        this.#options.onDeadLetter?.(entry, response.error);
      }
    } catch (error) {
      this.#options.onError?.("outbox delivery failed", { id, error: String(error) });
    } finally {
      this.#inFlight.delete(id);
    }
  }

  // Delivered entries are deleted in batches: what is delivered within
  // `forgetAfterMs` of the first goes in one statement (one delete per entry
  // was the busiest statement of a ticket create; a statement per few entries
  // still cost more than the rows). The wait is far below `staleMs`, so the
  // poll does not redeliver them meanwhile; an entry whose delete fails or
  // never runs is delivered again from the store, which its derived command
  // id makes harmless.
  #forget(entry: OutboxEntry): void {
    this.#delivered.push(entry);
    if (!this.#forgetting) this.#forgetDelivered();
  }

  async #forgetDelivered(): Promise<void> {
    this.#forgetting = true;
    if (!this.#stopped) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.forgetAfterMs);
        this.#flushNow = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#flushNow = undefined;
    }
    while (this.#delivered.length > 0) {
      const batch = this.#delivered.splice(0, forgetBatch);
      try {
        await this.#options.store.deleteOutbox(batch);
      } catch (error) {
        this.#options.onError?.("outbox delete failed", {
          entries: batch.length,
          error: String(error),
        });
      }
    }
    this.#forgetting = false;
  }
}

/** Delivered entries deleted per statement at the most. */
const forgetBatch = 500;

function entryId(entry: OutboxEntry): string {
  return `${entry.actorKey}|${entry.seq}|${entry.idx}`;
}
