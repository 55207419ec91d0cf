/**
 * The output gate: an answer leaves only once every event decided before it
 * is durable, even a rejection or a read, since both may rest on those events.
 *
 * @module
 */
import { type ActorResponse, failed, RuntimeErrors } from "../protocol.ts";
import { AppendRejectedError } from "../store/event_store.ts";
import { appendFailure } from "../store/group_committer.ts";
import type { Activation } from "./_activation.ts";

/**
 * Answer with `answer()` once every append of the activation so far is
 * durable, or with its failure; `done` runs when the answer is out. A turn
 * whose own append (`own`) the store refused for its data hears that; the
 * turns around it hear the activation's failure, which is retryable.
 */
export function afterGate(
  activation: Activation,
  answer: () => ActorResponse,
  done: () => void,
  own?: Promise<void>,
): Promise<ActorResponse> {
  activation.inflight++;
  return activation.gate.then(answer, async () => {
    const ownError = await own?.then(() => undefined, (error: unknown) => error);
    return {
      ok: false as const,
      error: ownError instanceof AppendRejectedError
        ? appendFailure(ownError, activation.key)
        : activation.failure ?? failed(RuntimeErrors.unavailable, "commit failed").error,
    };
  }).finally(() => {
    activation.inflight--;
    done();
  });
}

/** Put an append behind the gate; `fail` hears the first failure. */
export function gateOn(
  activation: Activation,
  committed: Promise<void>,
  fail: (error: unknown) => void,
): void {
  activation.gate = Promise.all([activation.gate, committed]).then(() => {});
  activation.settled = committed.catch(() => {});
  activation.gate.catch(fail);
}
