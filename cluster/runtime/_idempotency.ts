/**
 * An activation's idempotency records: the outcome of each command it (or an
 * earlier owner) executed, by command id, so a retry gets that outcome back
 * and a different request under the same id is refused.
 *
 * The most recent records are held in memory; the store holds every record
 * of the time window. While the store may hold more than memory does, the
 * mailbox looks up the ids it does not know before their turn.
 *
 * @module
 */
import type { CommandOutcome, IdempotencyRecord } from "../store/event_store.ts";
import {
  type ActorError,
  type ActorRequest,
  type ActorResponse,
  RuntimeErrors,
} from "../protocol.ts";

interface Entry {
  fingerprint: string | null;
  /** The answer of a command whose commit is still on its way. */
  pending?: Promise<ActorResponse>;
  outcome?: CommandOutcome;
}

/** What a retry of a known command gets. */
export type Replay =
  | { kind: "pending"; answer: Promise<ActorResponse> }
  | { kind: "outcome"; outcome: CommandOutcome }
  | { kind: "mismatch"; error: ActorError };

/** Rejections a decider makes of the request itself: not final, so not stored. */
const unrecordedCodes: ReadonlySet<string> = new Set(["validation", "invalid_command"]);

/** The recent idempotency records of one activation, oldest evicted first. */
export class IdempotencyWindow {
  #entries = new Map<string, Entry>();
  #capacity: number;
  #complete = true;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /**
   * Hold what the store loaded: its most recent records, newest first, at
   * most one more than the capacity (which tells that the store has more).
   */
  restore(records: IdempotencyRecord[]): void {
    this.#complete = records.length <= this.#capacity;
    for (const record of records.slice(0, this.#capacity).reverse()) {
      this.#set(record.commandId, { fingerprint: record.fingerprint, outcome: record.outcome });
    }
  }

  /**
   * Add records the store had that memory did not. They stay past the
   * capacity until the next command is remembered, so the turns they were
   * looked up for find them.
   */
  add(records: IdempotencyRecord[]): void {
    for (const { commandId, fingerprint, outcome } of records) {
      this.#entries.set(commandId, { fingerprint, outcome });
    }
  }

  /** The ids among these command requests the store must be asked about. */
  unknown(requests: ActorRequest[]): string[] {
    if (this.#complete) return [];
    return requests
      .filter((request) => request.op === "command" && !this.#entries.has(request.commandId))
      .map((request) => request.commandId);
  }

  /** What a request with a known command id gets instead of a new turn, if anything. */
  replay(request: ActorRequest): Replay | null {
    const entry = this.#entries.get(request.commandId);
    if (!entry) return null;
    if (
      entry.fingerprint !== null && request.fingerprint !== undefined &&
      entry.fingerprint !== request.fingerprint
    ) {
      return {
        kind: "mismatch",
        error: {
          code: RuntimeErrors.idempotencyMismatch,
          message: "this idempotency key was used for a different request",
          retryable: false,
        },
      };
    }
    if (entry.outcome) return { kind: "outcome", outcome: entry.outcome };
    return { kind: "pending", answer: entry.pending! };
  }

  /**
   * Remember a command whose outcome is being committed: retries share its
   * answer until then, and its lean record after.
   */
  remember(record: IdempotencyRecord, answer: Promise<ActorResponse>): void {
    const entry: Entry = { fingerprint: record.fingerprint, pending: answer };
    this.#set(record.commandId, entry);
    // Should the commit fail, the activation is retired with this window.
    answer.then(() => {
      entry.outcome = record.outcome;
      delete entry.pending;
    });
  }

  #set(commandId: string, entry: Entry): void {
    this.#entries.set(commandId, entry);
    while (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
      this.#complete = false;
    }
  }
}

/** Whether a decider's rejection is the command's final outcome. */
export function isRecorded(code: string): boolean {
  return !unrecordedCodes.has(code);
}
