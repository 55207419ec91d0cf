/**
 * The replies of an activation's recent commands, by command id, so a retry
 * answers what the original did.
 *
 * @module
 */
import type { ActorResponse } from "../protocol.ts";
import type { LoadedActor } from "../store/event_store.ts";

/** The last `capacity` replies, oldest evicted first. */
export class ReplyWindow {
  #replies = new Map<string, Promise<ActorResponse>>();
  #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The reply of an earlier command with this id, if remembered. */
  get(commandId: string): Promise<ActorResponse> | undefined {
    return this.#replies.get(commandId);
  }

  /** Remember the reply of a command. */
  set(commandId: string, response: Promise<ActorResponse>): void {
    this.#replies.set(commandId, response);
    if (this.#replies.size > this.#capacity) {
      this.#replies.delete(this.#replies.keys().next().value!);
    }
  }

  /** Remember the replies the store kept (newest first). */
  restore(replies: LoadedActor["replies"]): void {
    // Insert oldest first, so eviction order matches the original.
    for (const { commandId, seq, reply } of [...replies].reverse()) {
      this.#replies.set(commandId, Promise.resolve({ ok: true, reply, seq }));
    }
  }
}
