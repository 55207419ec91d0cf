// Group-commit batch sizes as the runtime itself reports them: the
// `sb_commit_batch_size` histogram of its metrics registry, read before and
// after a phase so the difference is that phase alone.
import type { MetricsRegistry } from "../cluster/telemetry/metrics.ts";

const metric = "sb_commit_batch_size";

// A reading of the histogram: cumulative counts per upper bound.
interface BatchHistogram {
  bounds: number[];
  cumulative: number[];
  sum: number;
  count: number;
}

/** Batch sizes over a phase; quantiles are histogram bucket bounds (`p50` ≤ that size). */
export interface BatchSizes {
  batches: number;
  appends: number;
  mean: number;
  p50: number;
  p99: number;
}

function readBatchHistogram(metrics: MetricsRegistry): BatchHistogram {
  const reading: BatchHistogram = { bounds: [], cumulative: [], sum: 0, count: 0 };
  for (const line of metrics.render().split("\n")) {
    const bucket = line.match(new RegExp(`^${metric}_bucket\\{le="([^"]+)"\\} (\\S+)$`));
    if (bucket) {
      reading.bounds.push(bucket[1] === "+Inf" ? Infinity : Number(bucket[1]));
      reading.cumulative.push(Number(bucket[2]));
    } else if (line.startsWith(`${metric}_sum `)) reading.sum = Number(line.split(" ")[1]);
    else if (line.startsWith(`${metric}_count `)) reading.count = Number(line.split(" ")[1]);
  }
  return reading;
}

/** Run `work` and return what it did to the batch histogram. */
export async function batchSizesOf<T>(
  metrics: MetricsRegistry,
  work: () => Promise<T>,
): Promise<[T, BatchSizes]> {
  const before = readBatchHistogram(metrics);
  const result = await work();
  return [result, difference(before, readBatchHistogram(metrics))];
}

function difference(before: BatchHistogram, after: BatchHistogram): BatchSizes {
  const batches = after.count - before.count;
  const appends = after.sum - before.sum;
  const cumulative = after.cumulative.map((n, i) => n - (before.cumulative[i] ?? 0));
  const quantile = (q: number) =>
    batches === 0 ? 0 : after.bounds[cumulative.findIndex((n) => n >= q * batches)];
  return {
    batches,
    appends,
    mean: batches === 0 ? 0 : appends / batches,
    p50: quantile(0.5),
    p99: quantile(0.99),
  };
}
