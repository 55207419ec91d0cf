// Order statistics shared by the client and the server-side probes.

/** The `q`-quantile (nearest rank) of ascending `sorted` values; 0 when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Order statistics in ms. */
export interface Quantiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** The {@linkcode Quantiles} of `values`, in any order; all 0 when empty. */
export function quantiles(values: ArrayLike<number>): Quantiles {
  const sorted = Float64Array.from(values).sort();
  return {
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: quantile(sorted, 1),
  };
}
