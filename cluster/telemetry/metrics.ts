/**
 * A small Prometheus metrics registry: counters, gauges (set directly or read
 * from a callback at scrape time) and histograms, rendered in the text
 * exposition format 0.0.4.
 *
 * Any module may register its metrics on the process's one registry; asking
 * again for a metric with the same name, type and labels returns the same
 * metric, so modules need not coordinate who creates it.
 *
 * @example
 * ```ts
 * const metrics = new MetricsRegistry();
 * const requests = metrics.counter({
 *   name: "sb_http_requests_total",
 *   help: "HTTP requests served.",
 *   labelNames: ["route", "status"],
 * });
 * requests.inc({ route: "/healthz", status: "200" });
 * metrics.render(); // "# HELP sb_http_requests_total HTTP requests served.\n…"
 * ```
 *
 * @module
 */

/** The `Content-Type` of {@linkcode MetricsRegistry.render}'s output. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/** Label values of one series, keyed by label name. */
export type Labels<L extends string> = { readonly [name in L]: string };

/** What every metric is declared with. */
export interface MetricOptions<L extends string> {
  /** Metric name, e.g. `sb_http_requests_total`. */
  name: string;
  /** One line saying what is measured. */
  help: string;
  /** Label names every sample must set; none by default. */
  labelNames?: readonly L[];
}

/** A value that only goes up, e.g. requests served. */
export interface Counter<L extends string> {
  /** Add `by` (1 by default, never negative) to the series of `labels`. */
  inc(labels?: Labels<L>, by?: number): void;
}

/** A value that goes up and down, e.g. open sockets. */
export interface Gauge<L extends string> {
  set(labels: Labels<L> | undefined, value: number): void;
  inc(labels?: Labels<L>, by?: number): void;
  dec(labels?: Labels<L>, by?: number): void;
}

/** One sample a callback gauge reports at scrape time. */
export interface GaugeSample<L extends string> {
  labels?: Labels<L>;
  value: number;
}

/** Options of a gauge whose value is read when scraped. */
export interface CallbackGaugeOptions<L extends string> extends MetricOptions<L> {
  /** Called on every scrape; a single number for a gauge without labels. */
  collect(): number | Iterable<GaugeSample<L>>;
}

/** Options of a histogram. */
export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending; `+Inf` is implied. */
  buckets?: readonly number[];
}

/** A distribution of observed values, e.g. request latency in seconds. */
export interface Histogram<L extends string> {
  observe(labels: Labels<L> | undefined, value: number): void;
}

/** Prometheus' default latency buckets, in seconds. */
export const defaultBuckets: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

type MetricType = "counter" | "gauge" | "histogram";

interface Family {
  type: MetricType;
  name: string;
  help: string;
  /** Identifies the declaration, so a repeated declaration can be told from a conflicting one. */
  signature: string;
  /** Read from a callback when scraped. */
  callback: boolean;
  metric: unknown;
  lines(): string[];
}

/** Holds every metric of a process and renders them for a scrape. */
export class MetricsRegistry {
  #families = new Map<string, Family>();
  #collectErrors: Counter<"metric">;

  constructor() {
    this.#collectErrors = this.counter({
      name: "sb_metrics_collect_errors_total",
      help: "Callback gauges that threw while being scraped.",
      labelNames: ["metric"],
    });
  }

  /** Declare (or get the already declared) counter `options.name`. */
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.#family("counter", options, "", () => {
      const series = new SeriesMap(options.labelNames ?? [], () => 0);
      const counter: Counter<L> = {
        inc(labels, by = 1) {
          if (!(by >= 0)) throw new RangeError(`${options.name}: a counter cannot go down`);
          series.update(labels, (value) => value + by);
        },
      };
      return { metric: counter, lines: () => sampleLines(options.name, series) };
    });
  }

  /** Declare (or get the already declared) gauge `options.name`. */
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L> {
    return this.#family("gauge", options, "", () => {
      const series = new SeriesMap(options.labelNames ?? [], () => 0);
      const gauge: Gauge<L> = {
        set: (labels, value) => series.update(labels, () => value),
        inc: (labels, by = 1) => series.update(labels, (value) => value + by),
        dec: (labels, by = 1) => series.update(labels, (value) => value - by),
      };
      return { metric: gauge, lines: () => sampleLines(options.name, series) };
    });
  }

  /**
   * Declare a gauge read from `options.collect` on every scrape. A collector
   * that throws leaves its gauge without samples for that scrape and counts
   * in `sb_metrics_collect_errors_total`, so one broken module cannot break
   * the whole scrape.
   */
  callbackGauge<L extends string = never>(options: CallbackGaugeOptions<L>): void {
    const source = this.#family("gauge", options, "callback", () => {
      const source = { collect: options.collect };
      const lines = () => {
        try {
          const collected = source.collect();
          const samples = typeof collected === "number" ? [{ value: collected }] : collected;
          const series = new SeriesMap(options.labelNames ?? [], () => 0);
          for (const sample of samples) series.update(sample.labels, () => sample.value);
          return sampleLines(options.name, series);
        } catch {
          this.#collectErrors.inc({ metric: options.name });
          return [];
        }
      };
      return { metric: source, lines };
    });
    // Declaring it again (say, from a restarted runtime) hands the gauge to
    // the new collector instead of leaving it reading a stale one.
    source.collect = options.collect;
  }

  /** Declare (or get the already declared) histogram `options.name`. */
  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    const buckets = options.buckets ?? defaultBuckets;
    if (buckets.some((bound, i) => i > 0 && bound <= buckets[i - 1])) {
      throw new RangeError(`${options.name}: buckets must be strictly ascending`);
    }
    if (options.labelNames?.includes("le" as L)) {
      throw new RangeError(`${options.name}: "le" is reserved for histogram buckets`);
    }
    return this.#family("histogram", options, buckets.join(","), () => {
      const series = new SeriesMap(options.labelNames ?? [], () => emptyHistogram(buckets.length));
      const histogram: Histogram<L> = {
        observe(labels, value) {
          series.update(labels, (state) => {
            const bucket = buckets.findIndex((bound) => value <= bound);
            if (bucket >= 0) state.counts[bucket]++;
            state.sum += value;
            state.count++;
            return state;
          });
        },
      };
      return { metric: histogram, lines: () => histogramLines(options.name, buckets, series) };
    });
  }

  /** Every metric in the text exposition format, ending in a newline. */
  render(): string {
    // Callbacks run first, so a collector failing now shows in this very
    // scrape's sb_metrics_collect_errors_total.
    const families = [...this.#families.values()];
    const collected = new Map(families.filter((f) => f.callback).map((f) => [f, f.lines()]));
    const out: string[] = [];
    for (const family of families) {
      out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
      out.push(`# TYPE ${family.name} ${family.type}`);
      out.push(...(collected.get(family) ?? family.lines()));
    }
    return out.join("\n") + "\n";
  }

  #family<M>(
    type: MetricType,
    options: MetricOptions<string>,
    variant: string,
    create: () => { metric: M; lines(): string[] },
  ): M {
    const labelNames = options.labelNames ?? [];
    const signature = [type, variant, ...labelNames].join("|");
    const existing = this.#families.get(options.name);
    if (existing) {
      if (existing.signature !== signature) {
        throw new Error(`metric ${options.name} is already declared differently`);
      }
      return existing.metric as M;
    }
    if (!metricName.test(options.name)) throw new RangeError(`bad metric name "${options.name}"`);
    for (const label of labelNames) {
      if (!labelName.test(label)) throw new RangeError(`bad label name "${label}"`);
    }
    const { metric, lines } = create();
    this.#families.set(options.name, {
      name: options.name,
      help: options.help,
      type,
      signature,
      callback: variant === "callback",
      metric,
      lines,
    });
    return metric;
  }
}

const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface HistogramState {
  /** Per-bucket (not yet cumulative) counts. */
  counts: number[];
  sum: number;
  count: number;
}

function emptyHistogram(buckets: number): HistogramState {
  return { counts: new Array(buckets).fill(0), sum: 0, count: 0 };
}

function histogramLines(
  name: string,
  buckets: readonly number[],
  series: SeriesMap<HistogramState>,
): string[] {
  const out: string[] = [];
  for (const [labels, state] of series.entries()) {
    let cumulative = 0;
    buckets.forEach((bound, i) => {
      cumulative += state.counts[i];
      out.push(sampleLine(`${name}_bucket`, [...labels, ["le", formatValue(bound)]], cumulative));
    });
    out.push(sampleLine(`${name}_bucket`, [...labels, ["le", "+Inf"]], state.count));
    out.push(sampleLine(`${name}_sum`, labels, state.sum));
    out.push(sampleLine(`${name}_count`, labels, state.count));
  }
  return out;
}

/**
 * The series of one metric, keyed by their label values in declaration order.
 * A metric without labels has its one series from the start, so a scrape
 * shows it at zero rather than not at all.
 */
class SeriesMap<V> {
  #labelNames: readonly string[];
  #initial: () => V;
  #series = new Map<string, { labels: [string, string][]; value: V }>();

  constructor(labelNames: readonly string[], initial: () => V) {
    this.#labelNames = labelNames;
    this.#initial = initial;
    if (labelNames.length === 0) this.update(undefined, (value) => value);
  }

  update(labels: Labels<string> | undefined, next: (value: V) => V): void {
    const key = this.#key(labels);
    const entry = this.#series.get(key);
    if (entry) entry.value = next(entry.value);
    else this.#series.set(key, { labels: this.#pairs(labels), value: next(this.#initial()) });
  }

  *entries(): Iterable<[[string, string][], V]> {
    for (const { labels, value } of this.#series.values()) yield [labels, value];
  }

  // The label values, each after its length so that no value can run into
  // the next: every request updates several series, so the key is built
  // without the pairs, which only a new series needs.
  #key(labels: Labels<string> | undefined): string {
    let given = 0;
    for (const _ in labels) given++;
    let key = "";
    for (const name of this.#labelNames) {
      const value = labels?.[name];
      if (value === undefined) throw this.#mismatch(labels);
      const text = String(value);
      key += `${text.length}:${text}`;
    }
    if (given !== this.#labelNames.length) throw this.#mismatch(labels);
    return key;
  }

  #pairs(labels: Labels<string> | undefined): [string, string][] {
    return this.#labelNames.map((name) => [name, String(labels![name])]);
  }

  // A series with missing or extra labels would be silently dropped by Prometheus'
  // own checks or split into a stray series, so it is refused at the call site.
  #mismatch(labels: Labels<string> | undefined): RangeError {
    return new RangeError(
      `expected labels [${this.#labelNames.join(", ")}], got [${
        Object.keys(labels ?? {}).join(", ")
      }]`,
    );
  }
}

function sampleLines(name: string, series: SeriesMap<number>): string[] {
  return [...series.entries()].map(([labels, value]) => sampleLine(name, labels, value));
}

function sampleLine(name: string, labels: [string, string][], value: number): string {
  const rendered = labels.map(([label, v]) => `${label}="${escapeLabelValue(v)}"`).join(",");
  return `${name}${rendered ? `{${rendered}}` : ""} ${formatValue(value)}`;
}

function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
