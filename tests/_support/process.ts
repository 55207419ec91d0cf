// Real Switchboard processes for multi-process tests: spawn `main.ts` with an
// environment, wait for its "ready" log line, read its logs, kill it.
import { TextLineStream } from "../../cluster/process/text_line_stream.ts";

const root = new URL("../../", import.meta.url).pathname;

export interface SpawnOptions {
  /** Added to the inherited environment; `undefined` leaves a variable out. */
  env: Record<string, string | undefined>;
  /** What to run, in `cwd`; `deno run -A main.ts` in this checkout by default. */
  command?: [string, ...string[]];
  cwd?: string;
  /** How long to wait for "ready". */
  readyTimeoutMs?: number;
}

/** A running `main.ts` (or a command that runs it). */
export class ServiceProcess {
  readonly logs: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess;
  #status: Promise<Deno.CommandStatus>;
  port = 0;
  readonly startedAt = performance.now();
  readyMs = 0;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#status = child.status;
  }

  /** Start `main.ts` and resolve once it logs "ready". */
  static async start(options: SpawnOptions): Promise<ServiceProcess> {
    const [program, ...args] = options.command ?? [Deno.execPath(), "run", "-A", "main.ts"];
    const child = new Deno.Command(program, {
      args,
      cwd: options.cwd ?? root,
      env: definedEntries({ SB_HTTP_PORT: "0", ...options.env }),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const process = new ServiceProcess(child);
    const ready = Promise.withResolvers<void>();
    (async () => {
      const lines = child.stderr.pipeThrough(new TextDecoderStream()).pipeThrough(
        new TextLineStream(),
      );
      for await (const line of lines) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line);
        } catch {
          entry = { message: line };
        }
        process.logs.push(entry);
        if (entry.message === "ready") {
          process.port = entry.port as number;
          process.readyMs = performance.now() - process.startedAt;
          ready.resolve();
        }
      }
      ready.reject(new Error(`process exited before ready:\n${process.logText()}`));
    })();
    const timeout = options.readyTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready.promise,
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not ready after ${timeout} ms:\n${process.logText()}`)),
            timeout,
          );
        }),
      ]);
    } catch (error) {
      process.kill("SIGKILL");
      await process.exited();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return process;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.#child.pid;
  }

  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#child.kill(signal);
    } catch {
      // already gone
    }
  }

  exited(): Promise<Deno.CommandStatus> {
    return this.#status;
  }

  logText(): string {
    return this.logs.map((entry) => JSON.stringify(entry)).join("\n");
  }
}

function definedEntries(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}
