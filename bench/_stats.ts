// Order statistics shared by the client and the server-side probes.

/** The `q`-quantile (nearest rank) of ascending `sorted` values; 0 when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
