/**
 * Delivers the commands actors send each other (their outbox) at least once:
 * right after the sending event commits, and again from the store for
 * entries a crash or an outage left behind. Each command's id is derived from
 * the sending event, so a second delivery has no effect.
 *
 * @module
 */
import type { EventStore, OutboxEntry } from "../store/event_store.ts";
import type { ActorRequest, ActorResponse } from "../protocol.ts";

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
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

/** Delivers outbox entries and forgets them once their target answered. */
export class OutboxRelay {
  #options: OutboxRelayOptions & { pollMs: number; staleMs: number };
  #inFlight = new Set<string>();
  #poller?: ReturnType<typeof setTimeout>;
  #stopped = false;

  constructor(options: OutboxRelayOptions) {
    this.#options = { pollMs: 2000, staleMs: 5000, ...options };
  }

  /** Start looking for leftovers. */
  start(): void {
    this.#poller = setTimeout(() => this.#poll(), this.#options.pollMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#poller);
  }

  /** Deliver entries whose events just committed. */
  deliver(entries: OutboxEntry[]): void {
    for (const entry of entries) this.#send(entry);
  }

  async #poll(): Promise<void> {
    const { store, isLocal, staleMs, pollMs } = this.#options;
    try {
      for (const entry of await store.pendingOutbox(Date.now() - staleMs, 500)) {
        if (!isLocal || isLocal(entry.actorKey)) this.#send(entry);
      }
    } catch (error) {
      this.#options.onError?.("outbox poll failed", { error: String(error) });
    }
    if (!this.#stopped) this.#poller = setTimeout(() => this.#poll(), pollMs);
  }

  async #send(entry: OutboxEntry): Promise<void> {
    const id = `${entry.actorKey}|${entry.seq}|${entry.idx}`;
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
      // A refusal that a retry cannot change is an answer too: keep only what may still land.
      if (response.ok || !response.error.retryable) {
        if (!response.ok) {
          this.#options.onError?.("outbox command refused", { id, error: response.error });
        }
        await this.#options.store.deleteOutbox(entry);
      }
    } catch (error) {
      this.#options.onError?.("outbox delivery failed", { id, error: String(error) });
    } finally {
      this.#inFlight.delete(id);
    }
  }
}
