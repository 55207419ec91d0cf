/**
 * The output gate: an answer leaves only once every event decided before it
 * is durable, even a rejection or a read, since both may rest on those events.
 *
 * @module
 */
import { type ActorResponse, failed, RuntimeErrors } from "../protocol.ts";
import type { Activation } from "./_activation.ts";

/**
 * Answer with `answer()` once every append of the activation so far is
 * durable, or with its failure; `done` runs when the answer is out.
 */
export function afterGate(
  activation: Activation,
  answer: () => ActorResponse,
  done: () => void,
): Promise<ActorResponse> {
  activation.inflight++;
  return activation.gate.then(answer, () => ({
    ok: false as const,
    error: activation.failure ?? failed(RuntimeErrors.unavailable, "commit failed").error,
  })).finally(() => {
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
