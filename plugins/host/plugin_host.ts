/**
 * The sandboxed plugin host: runs tenants' routing plugins in pools of child
 * processes with no permissions and a small heap (DESIGN §7 says why not a
 * Worker), one pool per plugin version.
 *
 * Every call has a deadline; past it the child is killed and replaced. A
 * call that times out, throws, crashes its child or answers no valid
 * decision for its input is answered by the least-loaded router instead, and
 * a version that keeps failing rests behind a circuit breaker. New versions
 * are validated before they can serve, swapped in atomically (a call stays
 * on the version it started on), and can run as a shadow beside the active
 * one to count how often they agree.
 *
 * @example
 * ```ts
 * import { PluginHost, type RouteRequest } from "./plugin_host.ts";
 *
 * declare const request: RouteRequest; // the queue's waiting item and its candidates
 * const source = `export default {
 *   name: "first-online",
 *   route: ({ candidates }) => ({ assign: candidates.find((c) => c.status === "online").id }),
 * };`;
 * const host = new PluginHost({ deadlineMs: 50 });
 * await host.load("first-online", "1.0.0", source);
 * host.activate("first-online", "1.0.0");
 * const { decision, router, fallback } = await host.route("first-online", request);
 * await host.close();
 * ```
 *
 * @module
 */
import { SpanStatusCode } from "@opentelemetry/api";
import type { MetricsRegistry } from "../../cluster/telemetry/metrics.ts";
import { tracer } from "../../cluster/telemetry/tracing.ts";
import type { Decision, RouteInput } from "../sdk.ts";
import { leastLoaded, routeLeastLoaded } from "../routers/least_loaded.ts";
import { type BreakerOptions, type BreakerState, CircuitBreaker } from "./_breaker.ts";
import { type Answer, ask, probe, type Version } from "./_call.ts";
import { sameDecision } from "./_decision.ts";
import { ChildPool } from "./_pool.ts";
import {
  checkRegistration,
  maxSourceBytes,
  PluginError,
  type PluginErrorCode,
} from "./_registration.ts";
import {
  type FallbackCause,
  type PluginMetrics,
  pluginMetrics,
  type PluginStats,
  VersionStats,
} from "./_stats.ts";

export type { BreakerOptions, BreakerState, FallbackCause, PluginErrorCode, PluginStats };
export { maxSourceBytes, PluginError };

/** What the queue asks with; the host adds the version's registered options. */
export type RouteRequest = Omit<RouteInput, "options">;

/** A routing answer and who gave it. */
export interface RouteOutcome {
  decision: Decision;
  /** The plugin version that decided, or the fallback router. */
  router: { name: string; version: string };
  /** Set when the fallback router answered instead of the plugin. */
  fallback?: { cause: FallbackCause; detail: string };
}

/** The role of a loaded version. */
export type VersionRole = "active" | "shadow" | "loaded";

/** A loaded version as the admin API lists it. */
export interface VersionInfo {
  name: string;
  version: string;
  role: VersionRole;
  /** Its child processes running now (none while it neither serves nor shadows). */
  children: number;
  breaker: BreakerState;
  stats: PluginStats;
}

/** How a host runs its plugins. */
export interface PluginHostOptions {
  /** Each call's deadline in ms, waiting for a free child included. @default {50} */
  deadlineMs?: number;
  /** Children per active or shadow version. @default {2} */
  poolSize?: number;
  /** Each child's V8 heap cap in MiB. @default {64} */
  heapMb?: number;
  /** The most a child's start (spawn and import) may take. @default {10_000} */
  loadTimeoutMs?: number;
  /** How often idle children must answer a ping (or be replaced). @default {1_000} */
  idleCheckMs?: number;
  breaker?: BreakerOptions;
  /** The process's registry, to show the counters in /metrics. */
  metrics?: MetricsRegistry;
}

// Generous: an idle child that misses it is only replaced, but a busy
// machine should not make that happen to healthy ones.
const pingDeadlineMs = 500;
const fallbackRouter = { name: leastLoaded.name, version: leastLoaded.version ?? "builtin" };

/** Runs routing plugin versions in sandboxed child processes. */
export class PluginHost {
  #options: Required<Omit<PluginHostOptions, "metrics" | "breaker">>;
  #breaker: BreakerOptions | undefined;
  #metrics: PluginMetrics | undefined;
  #versions = new Map<string, Map<string, Version>>();
  /** Pools of versions under validation, by `name\nversion`. */
  #loading = new Map<string, ChildPool>();
  #active = new Map<string, Version>();
  #shadows = new Map<string, Version>();
  #comparisons = new Set<Promise<void>>();

  constructor(options: PluginHostOptions = {}) {
    this.#options = {
      deadlineMs: options.deadlineMs ?? 50,
      poolSize: options.poolSize ?? 2,
      heapMb: options.heapMb ?? 64,
      loadTimeoutMs: options.loadTimeoutMs ?? 10_000,
      idleCheckMs: options.idleCheckMs ?? 1_000,
    };
    this.#breaker = options.breaker;
    this.#metrics = options.metrics && pluginMetrics(options.metrics);
  }

  /**
   * Validate and register a version: start a child, import `source`, check
   * its default export, and run one probe call whose answer must be a valid
   * decision. The version serves once {@linkcode activate}d.
   *
   * @throws {PluginError} with the reason it was refused
   */
  async load(
    name: string,
    version: string,
    source: string,
    options: RouteInput["options"] = {},
  ): Promise<VersionInfo> {
    const plainOptions = checkRegistration(name, version, source, options);
    const key = `${name}\n${version}`;
    if (this.#versions.get(name)?.has(version) || this.#loading.has(key)) {
      throw new PluginError("already_loaded", `${name}@${version} is already loaded`);
    }
    const pool = new ChildPool(source, {
      ...this.#options,
      size: this.#options.poolSize,
      pingDeadlineMs,
    });
    this.#loading.set(key, pool);
    try {
      await probe(pool, plainOptions);
    } catch (error) {
      await pool.close();
      throw error;
    } finally {
      this.#loading.delete(key);
    }
    const loaded: Version = {
      name,
      version,
      options: plainOptions,
      pool,
      stats: new VersionStats(name, version, this.#metrics),
      breaker: new CircuitBreaker(this.#breaker),
    };
    // Its children start when it is activated or shadowed, not before.
    pool.retire();
    if (!this.#versions.has(name)) this.#versions.set(name, new Map());
    this.#versions.get(name)!.set(version, loaded);
    return this.#info(loaded);
  }

  /**
   * Start the children of `version` and resolve once they run, so that the
   * {@linkcode activate} or {@linkcode shadow} that follows swaps to a
   * version whose first calls find a child ready rather than wait past
   * their deadline for one to start.
   *
   * @throws {PluginError} `unknown_version` if it was not loaded
   */
  async prepare(name: string, version: string): Promise<void> {
    const { pool } = this.#version(name, version);
    pool.warm();
    await pool.whenWarm();
  }

  /**
   * Make `version` the one new calls of `name` go to; calls in flight finish
   * on the version they started on. Activating the shadow promotes it.
   *
   * @throws {PluginError} `unknown_version` if it was not loaded
   */
  activate(name: string, version: string): void {
    const next = this.#version(name, version);
    const previous = this.#active.get(name);
    this.#active.set(name, next);
    if (this.#shadows.get(name) === next) this.#shadows.delete(name);
    next.pool.warm();
    if (previous && previous !== next && previous !== this.#shadows.get(name)) {
      previous.pool.retire();
    }
  }

  /**
   * Run `version` beside the active one on every call, off the hot path,
   * counting how often it agrees; `undefined` stops the shadow.
   *
   * @throws {PluginError} `unknown_version` if it was not loaded
   */
  shadow(name: string, version: string | undefined): void {
    const next = version === undefined ? undefined : this.#version(name, version);
    const previous = this.#shadows.get(name);
    if (next) {
      this.#shadows.set(name, next);
      next.pool.warm();
    } else this.#shadows.delete(name);
    if (previous && previous !== next && previous !== this.#active.get(name)) {
      previous.pool.retire();
    }
  }

  /**
   * Route `request` with the active version of `name`: its decision if it is
   * valid for the request, else the least-loaded router's, saying why.
   */
  route(
    name: string,
    request: RouteRequest,
    options: { deadlineMs?: number } = {},
  ): Promise<RouteOutcome> {
    const deadlineMs = options.deadlineMs ?? this.#options.deadlineMs;
    const active = this.#active.get(name);
    return tracer.startActiveSpan("plugin call", async (span) => {
      span.setAttributes({ "plugin.name": name, "plugin.version": active?.version ?? "" });
      try {
        const outcome = await this.#route(name, active, request, deadlineMs);
        if (outcome.fallback) {
          span.setAttribute("plugin.fallback", outcome.fallback.cause);
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.fallback.detail });
        }
        return outcome;
      } finally {
        span.end();
      }
    });
  }

  /** Every loaded version of `name` with its role and counters. */
  versions(name: string): VersionInfo[] {
    return [...(this.#versions.get(name)?.values() ?? [])].map((v) => this.#info(v));
  }

  /**
   * Stop every child, once the shadow calls under way have been compared;
   * the counters stay readable through {@linkcode versions}.
   */
  async close(): Promise<void> {
    while (this.#comparisons.size > 0) await Promise.all(this.#comparisons);
    const pools = [
      ...this.#loading.values(),
      ...[...this.#versions.values()].flatMap((byVersion) => [...byVersion.values()])
        .map((version) => version.pool),
    ];
    await Promise.all(pools.map((pool) => pool.close()));
  }

  async #route(
    name: string,
    active: Version | undefined,
    request: RouteRequest,
    deadlineMs: number,
  ): Promise<RouteOutcome> {
    if (!active) {
      this.#metrics?.fallbacks.inc({ plugin: name, version: "", cause: "not-loaded" });
      return fallback({ ...request, options: {} }, "not-loaded", `no active version of ${name}`);
    }
    const input = { ...request, options: active.options };
    const answer = ask(active, input, deadlineMs);
    const shadow = this.#shadows.get(name);
    if (shadow && shadow !== active) {
      this.#compare(shadow, { ...request, options: shadow.options }, deadlineMs, answer);
    }
    const answered = await answer;
    if ("decision" in answered) {
      return { decision: answered.decision, router: { name, version: active.version } };
    }
    active.stats.fellBack(answered.cause);
    return fallback(input, answered.cause, answered.detail);
  }

  #compare(shadow: Version, input: RouteInput, deadlineMs: number, primary: Promise<Answer>) {
    const comparison = Promise.all([ask(shadow, input, deadlineMs), primary]).then(
      ([theirs, ours]) => {
        const decided = "decision" in ours ? ours.decision : undefined;
        // A resting shadow gave no answer to compare.
        const rested = "cause" in theirs && theirs.cause === "circuit-open";
        if (decided && !rested) {
          shadow.stats.compared("decision" in theirs && sameDecision(theirs.decision, decided));
        }
      },
    );
    this.#comparisons.add(comparison);
    const settle = () => this.#comparisons.delete(comparison);
    comparison.then(settle, settle);
  }

  #version(name: string, version: string): Version {
    const found = this.#versions.get(name)?.get(version);
    if (!found) throw new PluginError("unknown_version", `${name}@${version} is not loaded`);
    return found;
  }

  #info(version: Version): VersionInfo {
    const role = this.#active.get(version.name) === version
      ? "active"
      : this.#shadows.get(version.name) === version
      ? "shadow"
      : "loaded";
    return {
      name: version.name,
      version: version.version,
      role,
      children: version.pool.running,
      breaker: version.breaker.state,
      stats: version.stats.snapshot(),
    };
  }
}

function fallback(input: RouteInput, cause: FallbackCause, detail: string): RouteOutcome {
  const decision = routeLeastLoaded({ ...input, options: {} });
  return { decision, router: fallbackRouter, fallback: { cause, detail } };
}
