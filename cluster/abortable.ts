/**
 * Waiting on work for only as long as a signal allows: the pieces every
 * deadline in Switchboard is built from, on `AbortSignal.timeout` rather than
 * hand-made timers.
 *
 * @module
 */

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
