// Where a phase's time went in this (the server's) process: CPU used, and
// how late a 5 ms timer fired (event-loop lag), which is what every request
// waits on when the loop is stalled by GC or by other processes on the cores.
import process from "node:process";
import { quantile } from "./_stats.ts";

/** The server process's load over a phase. */
export interface ServerLoad {
  /** CPU time of the whole process (every thread), user and system. */
  cpuMs: number;
  /** Lateness of a 5 ms timer, in ms. */
  loopLagMs: { p50: number; p99: number; max: number };
  /** The machine's 1-minute load average when the phase started. */
  loadAverage: number;
}

const tickMs = 5;

/** Run `work` and return what it cost this process. */
export async function serverLoadOf<T>(work: () => Promise<T>): Promise<[T, ServerLoad]> {
  const loadAverage = Deno.loadavg()[0];
  const lags: number[] = [];
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - tickMs));
    last = now;
  }, tickMs);
  const cpu = process.cpuUsage();
  try {
    const result = await work();
    const used = process.cpuUsage(cpu);
    lags.sort((a, b) => a - b);
    return [result, {
      cpuMs: (used.user + used.system) / 1000,
      loopLagMs: { p50: quantile(lags, 0.5), p99: quantile(lags, 0.99), max: quantile(lags, 1) },
      loadAverage,
    }];
  } finally {
    clearInterval(ticker);
  }
}
