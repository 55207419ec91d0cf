// The counters of each plugin version: kept here for the admin API's
// listing and, when the host is given the process's registry, in /metrics.
import type { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";

/** How a call that reached the plugin failed. */
export type CallFailure = "timeout" | "error" | "crashed" | "invalid";

/** Why a call was answered by the fallback router instead of the plugin. */
export type FallbackCause = CallFailure | "circuit-open" | "not-loaded";

/** The upper bounds of the latency buckets, in milliseconds. */
export const latencyBucketsMs: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250];

/** A snapshot of one version's counters. */
export interface PluginStats {
  /** Calls that reached the plugin (not those the open breaker kept away). */
  calls: number;
  /** Calls where the plugin threw or its child died. */
  errors: number;
  timeouts: number;
  /** Answers that were no valid decision for their input. */
  invalid: number;
  /** Calls answered by the fallback router, for any cause. */
  fallbacks: number;
  /** Call latency: how many calls took at most each bound (the rest took longer). */
  latencyMs: { le: number; count: number }[];
  /** As a shadow: calls compared with the active version, and how many agreed. */
  shadow: { calls: number; agreed: number };
}

/** The process-wide series every host writes to. */
export interface PluginMetrics {
  calls: ReturnType<MetricsRegistry["counter"]>;
  outcomes: ReturnType<MetricsRegistry["counter"]>;
  fallbacks: ReturnType<MetricsRegistry["counter"]>;
  latency: ReturnType<MetricsRegistry["histogram"]>;
}

/** Declare (or get) the plugin series on `registry`. */
export function pluginMetrics(registry: MetricsRegistry): PluginMetrics {
  return {
    calls: registry.counter({
      name: "sb_plugin_calls_total",
      help: "Routing plugin calls that reached the sandbox.",
      labelNames: ["plugin", "version"],
    }),
    outcomes: registry.counter({
      name: "sb_plugin_failures_total",
      help: "Routing plugin calls that failed, by kind (error, crashed, timeout, invalid).",
      labelNames: ["plugin", "version", "kind"],
    }),
    fallbacks: registry.counter({
      name: "sb_plugin_fallbacks_total",
      help: "Routing calls answered by the fallback router, by cause.",
      labelNames: ["plugin", "version", "cause"],
    }),
    latency: registry.histogram({
      name: "sb_plugin_call_seconds",
      help: "Routing plugin call latency, sandbox round trip included.",
      labelNames: ["plugin", "version"],
      buckets: latencyBucketsMs.map((ms) => ms / 1000),
    }),
  };
}

/** The counters of one plugin version. */
export class VersionStats {
  #labels: { plugin: string; version: string };
  #metrics: PluginMetrics | undefined;
  #stats: PluginStats = {
    calls: 0,
    errors: 0,
    timeouts: 0,
    invalid: 0,
    fallbacks: 0,
    latencyMs: latencyBucketsMs.map((le) => ({ le, count: 0 })),
    shadow: { calls: 0, agreed: 0 },
  };

  constructor(plugin: string, version: string, metrics?: PluginMetrics) {
    this.#labels = { plugin, version };
    this.#metrics = metrics;
  }

  /** A call reached the plugin and ended after `ms`, failed with `failure` if it did. */
  called(ms: number, failure?: CallFailure): void {
    this.#stats.calls++;
    for (const bucket of this.#stats.latencyMs) if (ms <= bucket.le) bucket.count++;
    this.#metrics?.calls.inc(this.#labels);
    this.#metrics?.latency.observe(this.#labels, ms / 1000);
    if (!failure) return;
    if (failure === "timeout") this.#stats.timeouts++;
    else if (failure === "invalid") this.#stats.invalid++;
    else this.#stats.errors++;
    this.#metrics?.outcomes.inc({ ...this.#labels, kind: failure });
  }

  fellBack(cause: FallbackCause): void {
    this.#stats.fallbacks++;
    this.#metrics?.fallbacks.inc({ ...this.#labels, cause });
  }

  /** As a shadow, this version answered beside the active one; `agreed` if the same way. */
  compared(agreed: boolean): void {
    this.#stats.shadow.calls++;
    if (agreed) this.#stats.shadow.agreed++;
  }

  snapshot(): PluginStats {
    return structuredClone(this.#stats);
  }
}
