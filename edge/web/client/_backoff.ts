/** Exponential backoff with full jitter, as reconnecting clients use it. */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 first): a random share of
 * `baseMs · 2^attempt`, capped at `maxMs`, so that many clients dropped at
 * once (an edge restart) do not come back at once.
 */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(attempt, 20));
  return Math.round(ceiling / 2 + random() * ceiling / 2);
}
