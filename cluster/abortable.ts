/**
 * Waiting on work for only as long as a deadline allows: the pieces every
 * deadline in Switchboard is built from, on one timer the process's pending
 * expiries share, and on abort signals for work that takes one.
 *
 * @module
 */
import { scheduleExpiry } from "./_expiries.ts";

/** A signal that times out, and the `Disposable` that stops its timer. */
export interface Timeout extends Disposable {
  readonly signal: AbortSignal;
}

/**
 * A signal that aborts with a `TimeoutError` after `ms`, as
 * `AbortSignal.timeout(ms)` does, but whose timer is cleared on dispose.
 * `AbortSignal.timeout`'s cannot be: on a path taken per request, every
 * answered request's timer still fires later and builds its exception, with
 * a stack trace (about 7 µs a request in the claim storm), and the pending
 * timers pile up for as long as the deadline.
 *
 * @example
 * ```ts
 * using expiry = timeout(500);
 * await abortable(fetch("http://127.0.0.1:9/"), [expiry.signal]);
 * ```
 */
export function timeout(ms: number): Timeout {
  const controller = new AbortController();
  const cancel = scheduleExpiry(
    ms,
    () => controller.abort(new DOMException("Signal timed out.", "TimeoutError")),
  );
  return { signal: controller.signal, [Symbol.dispose]: cancel };
}

/**
 * `work`'s outcome, or a rejection with `timedOut()` once `ms` have passed;
 * the timer stops as soon as `work` settles. Every pending timeout of the
 * process shares one timer.
 *
 * @example
 * ```ts
 * await withinTimeout(fetch("http://127.0.0.1:9/"), 500, () => new Error("no answer in 500 ms"));
 * ```
 */
export function withinTimeout<T>(
  work: Promise<T>,
  ms: number,
  timedOut: () => unknown,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancel = scheduleExpiry(ms, () => reject(timedOut()));
    work.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error) => {
        cancel();
        reject(error);
      },
    );
  });
}

export { scheduleExpiry };

/**
 * `work`'s outcome, or a rejection with the reason of the first of `signals`
 * to abort. Unlike a bare `Promise.race`, it removes its listeners from
 * long-lived signals once settled, and a late rejection of `work` never goes
 * unhandled.
 *
 * @example
 * ```ts
 * const signal = AbortSignal.timeout(500);
 * try {
 *   await abortable(fetch("http://127.0.0.1:9/"), [signal]);
 * } catch (error) {
 *   if (abortedBy(error, signal)) console.log("no answer within 500 ms");
 * }
 * ```
 */
export function abortable<T>(work: Promise<T>, signals: readonly AbortSignal[]): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const aborted = signals.find((signal) => signal.aborted);
    if (aborted) {
      work.catch(() => {});
      return reject(aborted.reason);
    }
    const onAbort = function (this: AbortSignal) {
      done();
      reject(this.reason);
    };
    const done = () => {
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
    };
    for (const signal of signals) signal.addEventListener("abort", onAbort);
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error) => {
        done();
        reject(error);
      },
    );
  });
}

/** Whether `error` is the reason `signal` aborted with. */
export function abortedBy(error: unknown, signal: AbortSignal): boolean {
  return signal.aborted && error === signal.reason;
}
