/**
 * Claim storm: N concurrent claimers × M tickets. Every claimer (an agent
 * with its own token) claims every ticket once, in its own random order, so
 * each ticket is claimed N times and exactly one claim may win. The same
 * client and HTTP server run it against Switchboard's ticket actors and two
 * baselines: (a) a Redis lock then a Postgres update, (b) `SELECT … FOR
 * UPDATE` then the update. Then a stalled winner shows what fencing buys,
 * and the standalone process's start time is measured.
 *
 * @module
 */
import { type BatchSizes, batchSizesOf } from "./_batch_sizes.ts";
import { type ClaimRun, runClaimers } from "./_claim_client.ts";
import {
  claimPath,
  type ClaimServer,
  type Mechanism,
  mechanisms,
  startClaimServer,
} from "./_claim_server.ts";
import { checkOwnership, type OwnershipCheck, span, unexpectedAnswers } from "./_ownership.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";
import { type ServerLoad, serverLoadOf } from "./_server_load.ts";
import { type StalledWinnerRun, stalledWinners, type StallTiming } from "./_stalled_winner.ts";
import { type StandaloneStart, standaloneStarts } from "./_standalone_start.ts";

const sizes = {
  full: { claimers: 200, tickets: 500, warmupTickets: 20, stalledTickets: 20 },
  quick: { claimers: 20, tickets: 50, warmupTickets: 5, stalledTickets: 5 },
};
type Size = typeof sizes.full;
const stallTiming: StallTiming = { ttlMs: 5000, stallMs: 6000 };
/** No mechanism's storm may run longer than this. */
const timeLimitMs = 60_000;

/** The targets the issue sets for Switchboard. */
const targets = { p99VsRedisLock: 0.8, p99VsForUpdate: 0.1 };

interface Storm {
  mechanism: Mechanism;
  /** The client's summary; who won each ticket is in `ownership`. */
  run: Omit<ClaimRun, "winners">;
  ownership: OwnershipCheck;
  /** What the claims cost the server process. */
  load: ServerLoad;
  /** Group-commit batches while the tickets were created and while they were claimed. */
  batches: { create: BatchSizes; claims: BatchSizes };
}

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const size = quick ? sizes.quick : sizes.full;
  const { storms, stalled } = await onClaimServer(size, signal);
  const starts = await standaloneStarts(signal);
  return {
    scenario: "claim-storm",
    tables: [
      { title: "claims", rows: claimRows(storms, stalled, size) },
      { title: "the server process during each storm", rows: loadRows(storms) },
      { title: "Switchboard's group commit", rows: batchRows(storms, size) },
      { title: "standalone start (main.ts, PGlite)", rows: startRows(starts) },
    ],
    details: { size, stallTiming, timeLimitMs, targets, storms, stalled, starts },
  };
}

// Everything that needs the claim server; it is gone before the standalone
// process starts, so that start has the machine to itself.
async function onClaimServer(
  size: Size,
  signal: AbortSignal,
): Promise<{ storms: Storm[]; stalled: StalledWinnerRun[] }> {
  await using server = await startClaimServer();
  const subs = Array.from({ length: size.claimers }, (_, i) => `agent${i}`);
  const tokens = await Promise.all(subs.map((sub) => server.token(sub)));
  const storms: Storm[] = [];
  for (const mechanism of mechanisms) {
    signal.throwIfAborted();
    storms.push(await storm(server, mechanism, { subs, tokens, ...size }, signal));
  }
  signal.throwIfAborted();
  return { storms, stalled: await stalledWinners(server, size.stalledTickets, stallTiming) };
}

async function storm(
  server: ClaimServer,
  mechanism: Mechanism,
  options: { subs: string[]; tokens: string[]; tickets: number; warmupTickets: number },
  signal: AbortSignal,
): Promise<Storm> {
  const { subs, tokens } = options;
  const claimAll = (tickets: string[], seed: number) =>
    runClaimers({
      urls: tickets.map((id) => server.url + claimPath(mechanism, id)),
      tokens,
      timeLimitMs,
      seed,
    }, signal);
  // Untimed: the same storm on a few other tickets warms the JIT and the pools.
  await claimAll(await server.openTickets(mechanism, options.warmupTickets), 0);
  const [tickets, create] = await batchSizesOf(
    server.metrics,
    () => server.openTickets(mechanism, options.tickets),
  );
  const [[run, load], claims] = await batchSizesOf(
    server.metrics,
    () => serverLoadOf(() => claimAll(tickets, 1)),
  );
  const { winners, ...summary } = run;
  const told = new Map(tickets.map((id, i) => [id, winners[i].map((claimer) => subs[claimer])]));
  const ownership = checkOwnership(told, await server.owners(mechanism, tickets));
  return { mechanism, run: summary, ownership, load, batches: { create, claims } };
}

function claimRows(storms: Storm[], stalled: StalledWinnerRun[], size: Size): Row[] {
  const stormName = `storm ${size.claimers}×${size.tickets}`;
  const rows: Row[] = storms.map(({ mechanism, run, ownership }) => ({
    scenario: stormName + (run.complete ? "" : " (cut at time limit)"),
    mechanism,
    claims: run.claims,
    "claims/s": run.claims / (run.elapsedMs / 1000),
    "p50 ms": run.latencyMs.p50,
    "p99 ms": run.latencyMs.p99,
    "won p50 ms": run.wonLatencyMs.p50,
    "won max ms": run.wonLatencyMs.max,
    "winners/ticket": span(ownership.winners),
    "double owners": ownership.doubleOwners,
    "db disagrees": ownership.disagreements,
    "not 200/409": unexpectedAnswers(run.statuses),
  }));
  const [switchboard, redisLock, forUpdate] = mechanisms.map((m) =>
    storms.find((s) => s.mechanism === m)!.run
  );
  rows.push(
    ratioRow("switchboard ÷ redis-lock", switchboard, redisLock, targets.p99VsRedisLock),
    ratioRow("switchboard ÷ pg-for-update", switchboard, forUpdate, targets.p99VsForUpdate),
  );
  const stallName = `stalled winner (${stallTiming.ttlMs / 1000} s TTL, ${
    stallTiming.stallMs / 1000
  } s stall)`;
  for (const { variant, claims, answers, ownership } of stalled) {
    rows.push({
      scenario: stallName,
      mechanism: variant,
      claims,
      "winners/ticket": span(ownership.winners),
      "double owners": ownership.doubleOwners,
      "db disagrees": ownership.disagreements,
      "stalled A told / B told": `${tallied(answers.a)} / ${tallied(answers.b)}`,
    });
  }
  return rows;
}

function ratioRow(name: string, ours: Storm["run"], theirs: Storm["run"], p99Target: number): Row {
  const times = (ratio: number) => `${ratio.toFixed(3)}×`;
  const p99 = ours.latencyMs.p99 / theirs.latencyMs.p99;
  return {
    scenario: "ratio",
    mechanism: name,
    "claims/s": times((ours.claims / ours.elapsedMs) / (theirs.claims / theirs.elapsedMs)),
    "p50 ms": times(ours.latencyMs.p50 / theirs.latencyMs.p50),
    "p99 ms": times(p99),
    target: `p99 ≤ ${p99Target}×: ${p99 <= p99Target ? "met" : "missed"}`,
  };
}

function loadRows(storms: Storm[]): Row[] {
  return storms.map(({ mechanism, run, load }) => ({
    mechanism,
    "cpu µs/claim (all threads)": 1000 * load.cpuMs / run.claims,
    "loop lag p50 ms": load.loopLagMs.p50,
    "loop lag p99 ms": load.loopLagMs.p99,
    "loop lag max ms": load.loopLagMs.max,
    "load avg at start": load.loadAverage,
  }));
}

function batchRows(storms: Storm[], size: Size): Row[] {
  const { batches } = storms.find((s) => s.mechanism === "switchboard")!;
  const phases: [string, BatchSizes][] = [
    [`${size.tickets} ticket creates`, batches.create],
    [`claim storm (${size.tickets} winning claims)`, batches.claims],
  ];
  return phases.map(([phase, { batches, appends, mean, p50, p99 }]) => ({
    phase,
    batches,
    appends,
    "mean size": mean,
    "p50 ≤": p50,
    "p99 ≤": p99,
  }));
}

function startRows(starts: StandaloneStart[]): Row[] {
  return starts.map(({ start, readyMs, selfReportedMs }) => ({
    start: start === "cold" ? "cold (empty data dir)" : "warm (same data dir)",
    "spawn → ready ms": readyMs,
    "in-process ms": selfReportedMs,
  }));
}

function tallied(answers: Record<string, number>): string {
  return Object.entries(answers).map(([answer, n]) => `${answer} ×${n}`).join(", ");
}
