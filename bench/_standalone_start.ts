// How long `main.ts` standalone (embedded PGlite, no external service) takes
// from spawn to its "ready" log line: cold on an empty data directory, then
// warm on the same directory.
import { ServiceProcess } from "../tests/_support/process.ts";

/** One start of the standalone process. */
export interface StandaloneStart {
  start: "cold" | "warm";
  /** Spawn to the "ready" line, as the parent saw it. */
  readyMs: number;
  /** What the process itself logged as its start-up time (after Deno loaded it). */
  selfReportedMs: number | null;
}

/** Start, stop, and start again on the same fresh data directory. */
export async function standaloneStarts(signal: AbortSignal): Promise<StandaloneStart[]> {
  const dataDir = await Deno.makeTempDir({ prefix: "sb-bench-standalone-" });
  try {
    const starts: StandaloneStart[] = [];
    for (const start of ["cold", "warm"] as const) {
      signal.throwIfAborted();
      starts.push({ start, ...await startAndStop(dataDir) });
    }
    return starts;
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

async function startAndStop(dataDir: string): Promise<Omit<StandaloneStart, "start">> {
  // Blank, not unset: the child inherits this environment otherwise.
  const process = await ServiceProcess.start({
    env: { SB_DATA_DIR: dataDir, DATABASE_URL: "", NATS_URL: "", REDIS_URL: "", SB_JWT_SECRET: "" },
    readyTimeoutMs: 60_000,
  });
  try {
    const ready = process.logs.find((entry) => entry.message === "ready");
    return { readyMs: process.readyMs, selfReportedMs: (ready?.ms as number | undefined) ?? null };
  } finally {
    await stop(process);
  }
}

// A clean stop lets PGlite close its files, so the warm start finds them whole.
async function stop(process: ServiceProcess): Promise<void> {
  process.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      process.kill("SIGKILL");
      resolve();
    }, 15_000);
  });
  await Promise.race([process.exited(), forced]);
  clearTimeout(timer);
  await process.exited();
}
