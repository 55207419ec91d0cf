// Rests a plugin that keeps failing, so that a broken version costs one
// fallback per call instead of a deadline per call.

/** When a breaker opens and how long it rests. */
export interface BreakerOptions {
  /** Failures within `windowMs` that open the breaker. @default {5} */
  failures?: number;
  /** @default {30_000} */
  windowMs?: number;
  /** How long an open breaker rests before one trial call. @default {30_000} */
  cooldownMs?: number;
}

/** Whether calls go through (`closed`), are refused (`open`), or one trial is allowed (`half-open`). */
export type BreakerState = "closed" | "open" | "half-open";

/** A circuit breaker over a sliding window of failures. */
export class CircuitBreaker {
  #failures: number;
  #windowMs: number;
  #cooldownMs: number;
  #recent: number[] = [];
  #openUntil = 0;
  #trialInFlight = false;

  constructor(options: BreakerOptions = {}) {
    this.#failures = options.failures ?? 5;
    this.#windowMs = options.windowMs ?? 30_000;
    this.#cooldownMs = options.cooldownMs ?? 30_000;
  }

  get state(): BreakerState {
    if (this.#openUntil === 0) return "closed";
    return performance.now() < this.#openUntil ? "open" : "half-open";
  }

  /** Whether a call may go to the plugin now; after the rest, one trial call at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.#trialInFlight) return false;
    this.#trialInFlight = true;
    return true;
  }

  succeeded(): void {
    this.#trialInFlight = false;
    this.#openUntil = 0;
    this.#recent = [];
  }

  failed(): void {
    const now = performance.now();
    if (this.#trialInFlight || this.#openUntil !== 0) {
      this.#trialInFlight = false;
      this.#openUntil = now + this.#cooldownMs;
      return;
    }
    this.#recent = this.#recent.filter((at) => at > now - this.#windowMs);
    this.#recent.push(now);
    if (this.#recent.length >= this.#failures) this.#openUntil = now + this.#cooldownMs;
  }
}
