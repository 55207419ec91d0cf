// The load generator of the claim storm, run as its own Deno process so its
// CPU time does not stall the server's event loop: every claimer is a loop
// over all tickets in its own seeded order, one request in flight at a time,
// over keep-alive connections. The spec comes on stdin, the result on stdout.
import { quantile, type Quantiles, quantiles } from "./_stats.ts";

/** What to claim and as whom. */
export interface ClaimLoad {
  /** The claim URL of every ticket. */
  urls: string[];
  /** A bearer token per claimer. */
  tokens: string[];
  /** Claimers start no claim after this long. */
  timeLimitMs: number;
  /** Seeds every claimer's order, so each mechanism sees the same sequences. */
  seed: number;
}

/** What the claimers saw. */
export interface ClaimRun {
  claims: number;
  elapsedMs: number;
  /** False when the time limit cut the run short. */
  complete: boolean;
  /** Answers by HTTP status; 0 counts requests that got no answer. */
  statuses: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  /**
   * The winning claims alone (one per ticket): each waits for its commit, and
   * at the start of a storm nearly every claim wins, so their commits queue.
   */
  wonLatencyMs: Quantiles;
  /** Per ticket (index into `urls`), the claimers (index into `tokens`) answered 200. */
  winners: number[][];
}

/** Run `load` in a fresh client process; SIGTERMs it when `signal` aborts. */
export async function runClaimers(load: ClaimLoad, signal: AbortSignal): Promise<ClaimRun> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", import.meta.url],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    signal,
  }).spawn();
  const input = child.stdin.getWriter();
  await input.write(new TextEncoder().encode(JSON.stringify(load)));
  await input.close();
  const { code, stdout } = await child.output();
  if (code !== 0) throw new Error(`the claim client exited with code ${code}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}

async function claimAll(load: ClaimLoad): Promise<ClaimRun> {
  const latencies = new Float64Array(load.urls.length * load.tokens.length);
  const won: number[] = [];
  const statuses: Record<string, number> = {};
  const winners: number[][] = load.urls.map(() => []);
  let claims = 0;
  let complete = true;
  const started = performance.now();
  const stopAt = started + load.timeLimitMs;

  await Promise.all(load.tokens.map(async (token, claimer) => {
    const headers = { authorization: `Bearer ${token}` };
    for (const ticket of shuffled(load.urls.length, load.seed + claimer)) {
      const sent = performance.now();
      if (sent > stopAt) {
        complete = false;
        return;
      }
      let status = 0;
      try {
        const response = await fetch(load.urls[ticket], { method: "POST", headers });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        // Counted under status 0: the claimer was told nothing.
      }
      const latency = performance.now() - sent;
      latencies[claims++] = latency;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) {
        winners[ticket].push(claimer);
        won.push(latency);
      }
    }
  }));

  const elapsedMs = performance.now() - started;
  const sorted = latencies.subarray(0, claims).sort();
  const at = (q: number) => quantile(sorted, q);
  return {
    claims,
    elapsedMs,
    complete,
    statuses,
    latencyMs: {
      mean: sorted.reduce((sum, ms) => sum + ms, 0) / Math.max(1, claims),
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: at(1),
    },
    wonLatencyMs: quantiles(won),
    winners,
  };
}

// Fisher–Yates driven by mulberry32: cheap, and the same seed gives the same order.
function shuffled(length: number, seed: number): number[] {
  const order = Array.from({ length }, (_, i) => i);
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  for (let i = length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

if (import.meta.main) {
  const load: ClaimLoad = await new Response(Deno.stdin.readable).json();
  console.log(JSON.stringify(await claimAll(load)));
}
