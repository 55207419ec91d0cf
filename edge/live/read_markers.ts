/**
 * Read markers on the replicated `read` map (DESIGN §6): per conversation and
 * participant, the highest seq read on any device, merged by maximum across
 * every tab and edge. Unread counts follow: head − marker.
 *
 * Durable by checkpoint: a raised marker is sent to the session actor as
 * `mark_read`, at most once per `checkpointEveryMs` per conversation and
 * participant (the latest value at the end of the interval), and at once
 * when the participant's socket closes (one's own messages need none: the
 * actor counts them as read by their author); an edge that starts to watch a
 * conversation seeds the map from the actor's checkpoint. So markers survive
 * a full restart with Redis flushed, losing at most the last interval's.
 *
 * @module
 */
import { participantKey } from "../../actors/session.ts";
import { readKey, type SharedState } from "../../cluster/process/shared_state.ts";

/** Who reads: the verified principal's sub and role. */
export interface Reader {
  sub: string;
  role: string;
}

/** Sends a checkpoint (`mark_read`) to the conversation's actor. */
export type Checkpoint = (
  tenant: string,
  conversation: string,
  by: Reader,
  seq: number,
) => Promise<void>;

/** Options of {@linkcode ReadMarkers}. */
export interface ReadMarkersOptions {
  shared: SharedState;
  checkpoint: Checkpoint;
  /** @default 5000 */
  checkpointEveryMs?: number;
  /** Where a failed checkpoint is reported. */
  onError?: (message: string, fields: Record<string, unknown>) => void;
}

interface Throttle {
  tenant: string;
  conversation: string;
  by: Reader;
  sent: number;
  pending: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Reads and raises read markers, and checkpoints them into the session actors. */
export class ReadMarkers {
  readonly #shared: SharedState;
  readonly #checkpoint: Checkpoint;
  readonly #everyMs: number;
  readonly #onError: NonNullable<ReadMarkersOptions["onError"]>;
  readonly #throttles = new Map<string, Throttle>();
  /** By tenant and conversation: a raised marker concerns only its conversation's sockets. */
  readonly #listeners = new Map<string, Set<() => void>>();

  constructor(options: ReadMarkersOptions) {
    this.#shared = options.shared;
    this.#checkpoint = options.checkpoint;
    this.#everyMs = options.checkpointEveryMs ?? 5000;
    this.#onError = options.onError ?? (() => {});
    this.#shared.read.onChange((tenant, _state, change) => {
      if (this.#listeners.size === 0) return;
      const conversations = new Set<string>();
      for (const key of change.value.keys()) conversations.add(conversationOf(key));
      for (const conversation of conversations) {
        for (const listener of this.#listeners.get(listenerKey(tenant, conversation)) ?? []) {
          listener();
        }
      }
    });
  }

  /** The highest seq `by` read in the conversation, on any device. */
  marker(tenant: string, conversation: string, by: Reader): number {
    return this.#shared.read.get(tenant).get(readKey(conversation, participantKey(by)));
  }

  /** `by` read up to `seq`: raise its marker and checkpoint it (throttled). */
  mark(tenant: string, conversation: string, by: Reader, seq: number): void {
    const marker = readKey(conversation, participantKey(by));
    if (!this.#raise(tenant, marker, seq)) return;
    const key = `${tenant}\n${marker}`;
    const throttle = this.#throttles.get(key);
    if (throttle) throttle.pending = Math.max(throttle.pending, seq);
    else this.#send(key, { tenant, conversation, by, sent: 0, pending: seq });
  }

  /**
   * `by` wrote message `seq`, and so has read up to it: raise its marker. The
   * conversation's actor counts its own messages as read already, so there
   * is nothing to checkpoint.
   */
  wrote(tenant: string, conversation: string, by: Reader, seq: number): void {
    this.#raise(tenant, readKey(conversation, participantKey(by)), seq);
  }

  /** Merge the markers a session actor checkpointed (its view's `readMarkers`). */
  seed(tenant: string, conversation: string, markers: Record<string, number>): void {
    for (const [participant, seq] of Object.entries(markers)) {
      if (!Number.isSafeInteger(seq) || seq <= 0) continue;
      this.#raise(tenant, readKey(conversation, participant), seq);
    }
  }

  /** Checkpoint what `by` read in the conversation now (its socket closed). */
  flush(tenant: string, conversation: string, by: Reader): void {
    const key = `${tenant}\n${readKey(conversation, participantKey(by))}`;
    const throttle = this.#throttles.get(key);
    if (throttle && throttle.pending > throttle.sent) {
      clearTimeout(throttle.timer);
      this.#send(key, throttle);
    }
  }

  /** Be called whenever a marker of the conversation changes; returns the unsubscribe. */
  listen(tenant: string, conversation: string, listener: () => void): () => void {
    const key = listenerKey(tenant, conversation);
    let listeners = this.#listeners.get(key);
    if (!listeners) this.#listeners.set(key, listeners = new Set());
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(key);
    };
  }

  /** Send every pending checkpoint and stop the timers. */
  close(): void {
    for (const [key, throttle] of this.#throttles) {
      clearTimeout(throttle.timer);
      if (throttle.pending > throttle.sent) this.#send(key, throttle);
      clearTimeout(throttle.timer);
    }
    this.#throttles.clear();
  }

  // Raise a marker below `seq` (a replicated update only when it moves); whether it did.
  #raise(tenant: string, key: string, seq: number): boolean {
    if (seq <= this.#shared.read.get(tenant).get(key)) return false;
    this.#shared.read.update(tenant, (markers) => markers.raise(key, seq));
    return true;
  }

  // Send the pending marker; the timer then sends what came meanwhile, or
  // forgets the throttle when nothing did.
  #send(key: string, throttle: Throttle): void {
    const { tenant, conversation, by, pending } = throttle;
    throttle.sent = pending;
    this.#checkpoint(tenant, conversation, by, pending).catch((error) =>
      this.#onError("read marker checkpoint failed", { conversation, error: String(error) })
    );
    throttle.timer = setTimeout(() => {
      if (throttle.pending > throttle.sent) this.#send(key, throttle);
      else this.#throttles.delete(key);
    }, this.#everyMs);
    this.#throttles.set(key, throttle);
  }
}

function listenerKey(tenant: string, conversation: string): string {
  return `${tenant}\n${conversation}`;
}

// The conversation of a {@linkcode readKey}: conversation ids hold no space.
function conversationOf(key: string): string {
  return key.slice(0, key.indexOf(" "));
}
