// The load generator of the ticket-create scenario, run as its own Deno
// process: `concurrency` loops, spread over the edges, each opening tickets
// one request at a time over keep-alive connections, through a warm-up and
// then a measured window.
import process from "node:process";
import { mark, type OnMark, runJsonChild } from "./_json_child.ts";
import { quantile } from "./_stats.ts";

/** Where and how hard to create. */
export interface CreateLoad {
  /** Base URLs of the edges; loop i uses edge i mod their count. */
  edges: string[];
  token: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

/** What the loops saw. */
export interface CreateRun {
  /** The measured window, epoch ms. */
  window: { from: number; to: number };
  /** Creates answered 201 within the window. */
  created: number;
  /** Answers within the window by HTTP status; 0 counts requests that got no answer. */
  statuses: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** CPU time this client used within the window, every thread. */
  cpuMs: number;
  /** Ids of every ticket answered 201, warm-up and the requests in flight at the end included. */
  ids: string[];
}

/**
 * Run `load` in a fresh client process; it is killed when `signal` aborts.
 * It marks `window` when the measured window starts, after the warm-up.
 */
export function runCreators(
  load: CreateLoad,
  signal: AbortSignal,
  onMark?: OnMark,
): Promise<CreateRun> {
  return runJsonChild(import.meta.url, load, signal, { onMark });
}

async function createAll(load: CreateLoad): Promise<CreateRun> {
  const body = JSON.stringify({ subject: "Printer on fire", body: "It is still burning." });
  const headers = { authorization: `Bearer ${load.token}`, "content-type": "application/json" };
  const ids: string[] = [];
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = Date.now();
  const window = { from: started + load.warmupMs, to: started + load.warmupMs + load.durationMs };
  let cpuAtStart: ReturnType<typeof process.cpuUsage> | undefined;
  const measuring = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    mark("window");
  }, load.warmupMs);
  let cpuMs = 0;
  const ending = setTimeout(() => {
    const used = process.cpuUsage(cpuAtStart);
    cpuMs = (used.user + used.system) / 1000;
  }, load.warmupMs + load.durationMs);

  await Promise.all(Array.from({ length: load.concurrency }, async (_, loop) => {
    const url = `${load.edges[loop % load.edges.length]}/v1/tickets`;
    while (Date.now() < window.to) {
      const sent = performance.now();
      let status = 0;
      try {
        const response = await fetch(url, { method: "POST", headers, body });
        status = response.status;
        const answer = await response.json();
        if (status === 201) ids.push(answer.id);
      } catch {
        // Counted under status 0: the client was told nothing.
      }
      const done = Date.now();
      if (done < window.from || done > window.to) continue;
      latencies.push(performance.now() - sent);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }));
  clearTimeout(measuring);
  clearTimeout(ending);

  latencies.sort((a, b) => a - b);
  const at = (q: number) => quantile(latencies, q);
  return {
    window,
    created: statuses[201] ?? 0,
    statuses,
    latencyMs: { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) },
    cpuMs,
    ids,
  };
}

if (import.meta.main) {
  const load: CreateLoad = await new Response(Deno.stdin.readable).json();
  console.log(JSON.stringify(await createAll(load)));
}
