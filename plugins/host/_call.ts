// One call to a loaded version, under its deadline and circuit breaker, and
// the probe call that validates a version before it may serve.
import type { Decision, RouteInput } from "../sdk.ts";
import type { CircuitBreaker } from "./_breaker.ts";
import { ChildFailure } from "./_child.ts";
import { checkDecision } from "./_decision.ts";
import type { ChildPool } from "./_pool.ts";
import { PluginError } from "./_registration.ts";
import { probeInput } from "./_probe.ts";
import type { CallFailure, VersionStats } from "./_stats.ts";

/** A loaded version: its pool of children, its registered options and its health. */
export interface Version {
  name: string;
  version: string;
  options: RouteInput["options"];
  pool: ChildPool;
  stats: VersionStats;
  breaker: CircuitBreaker;
}

/** A version's decision, or why it gave none. */
export type Answer = { decision: Decision } | {
  cause: CallFailure | "circuit-open";
  detail: string;
};

// A first call runs cold (nothing compiled yet), so the probe gets longer
// than a call's deadline, but not so long that a hung plugin holds up its load.
const probeDeadlineMs = 1_000;

/** Ask `version` to route `input` within `deadlineMs`, counting the call. */
export async function ask(
  version: Version,
  input: RouteInput,
  deadlineMs: number,
): Promise<Answer> {
  if (!version.breaker.allow()) {
    return { cause: "circuit-open", detail: `${version.name}@${version.version} is resting` };
  }
  const started = performance.now();
  const signal = AbortSignal.timeout(deadlineMs);
  let answer: { decision: Decision } | { cause: CallFailure; detail: string };
  try {
    const child = await version.pool.acquire(signal);
    let raw: unknown;
    try {
      raw = await child.route(input, signal);
    } finally {
      version.pool.release(child);
    }
    const checked = checkDecision(raw, input);
    answer = "problem" in checked ? { cause: "invalid", detail: checked.problem } : checked;
  } catch (error) {
    if (!(error instanceof ChildFailure)) throw error;
    answer = { cause: error.kind, detail: error.message };
  }
  const failure = "cause" in answer ? answer.cause : undefined;
  version.stats.called(performance.now() - started, failure);
  if (failure) version.breaker.failed();
  else version.breaker.succeeded();
  return answer;
}

/** Call a new version's child once with a made-up input; throws a {@linkcode PluginError} unless it answers validly. */
export async function probe(pool: ChildPool, options: RouteInput["options"]): Promise<void> {
  // The child's start has its own timeout, whose failure this gets.
  const child = await pool.acquire(new AbortController().signal).catch(
    (failure: ChildFailure) => {
      throw new PluginError("load_failed", `the plugin does not load: ${failure.message}`);
    },
  );
  try {
    const input = probeInput(options);
    const raw = await child.route(input, AbortSignal.timeout(probeDeadlineMs)).catch(
      (failure: ChildFailure) => {
        throw new PluginError("probe_failed", `the probe call failed: ${failure.message}`);
      },
    );
    const checked = checkDecision(raw, input);
    if ("problem" in checked) {
      throw new PluginError("probe_failed", `the probe call's answer: ${checked.problem}`);
    }
  } finally {
    pool.release(child);
  }
}
