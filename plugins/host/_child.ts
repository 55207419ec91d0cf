// One sandboxed child process running one plugin version (see
// _child_entry.ts for its side of the protocol).

/** Why a child did not answer a call. */
export type ChildFailureKind = "error" | "crashed" | "timeout";

/** A call or a load that got no valid answer from the child. */
export class ChildFailure extends Error {
  readonly kind: ChildFailureKind;

  constructor(kind: ChildFailureKind, message: string) {
    super(message);
    this.name = "ChildFailure";
    this.kind = kind;
  }
}

/** How children are started. */
export interface ChildOptions {
  /** The V8 old-space cap, in MiB. */
  heapMb: number;
  /** The most a start (spawn and import) may take. */
  loadTimeoutMs: number;
}

const entry = import.meta.resolve("./_child_entry.ts");
// An answer past this is no decision: the child is killed before it can
// grow the host's memory.
const maxLineChars = 1 << 20;
const encoder = new TextEncoder();

interface Pending {
  resolve(message: Record<string, unknown>): void;
  reject(failure: ChildFailure): void;
}

/** A child process with no permissions that imports one plugin and answers calls one at a time. */
export class SandboxChild {
  #process: Deno.ChildProcess;
  #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #pending: Pending | undefined;
  #dead: ChildFailure | undefined;
  #nextId = 1;
  /** Settles once the process has exited and its pipes are closed. */
  readonly closed: Promise<void>;

  private constructor(process: Deno.ChildProcess) {
    this.#process = process;
    this.#stdin = process.stdin.getWriter();
    this.closed = Promise.all([this.#read(), process.status]).then(() => {});
  }

  /**
   * Start a child and import `source` in it.
   *
   * @throws {ChildFailure} if the source does not import, has no plugin as
   * default export, or the start takes longer than `options.loadTimeoutMs`
   */
  static async start(source: string, options: ChildOptions): Promise<SandboxChild> {
    const process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-prompt",
        // No project config (its import map), no remote or npm modules: a
        // plugin imports nothing but `data:` URLs and the `node:` built-ins,
        // whose every access is still checked against no permissions.
        "--no-config",
        "--no-remote",
        "--no-npm",
        `--v8-flags=--max-old-space-size=${options.heapMb}`,
        entry,
      ],
      clearEnv: true,
      env: cacheEnv(),
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const child = new SandboxChild(process);
    const reply = await child.#request({ load: source }, AbortSignal.timeout(options.loadTimeoutMs))
      .catch(async (failure: ChildFailure) => {
        child.kill();
        await child.closed;
        throw failure.kind === "timeout"
          ? new ChildFailure("timeout", `no answer within ${options.loadTimeoutMs} ms of starting`)
          : failure;
      });
    if (!reply.loaded) {
      child.kill();
      await child.closed;
      const error = reply.loadError as { name: string; message: string } | undefined;
      throw new ChildFailure("error", error ? `${error.name}: ${error.message}` : "bad load reply");
    }
    return child;
  }

  /** Whether the child can still take calls. */
  get alive(): boolean {
    return this.#dead === undefined;
  }

  /**
   * Ask the plugin to route `input`; resolves to its raw answer. When
   * `signal` aborts first the child is killed, as a synchronous loop in it
   * could not be stopped otherwise.
   *
   * @throws {ChildFailure} `error` if the plugin threw, `crashed` if the child
   * died or broke the protocol, `timeout` if `signal` aborted first
   */
  async route(input: unknown, signal: AbortSignal): Promise<unknown> {
    const id = this.#nextId++;
    const reply = await this.#request({ id, input }, signal);
    if (reply.id !== id) throw this.#die("crashed", "answered another call");
    if ("error" in reply) {
      const error = reply.error as { name?: unknown; message?: unknown } | null;
      throw new ChildFailure("error", `${error?.name}: ${error?.message}`);
    }
    return reply.decision;
  }

  /**
   * Check that the child, between calls, still answers; one that does not
   * (a plugin left a loop running in a timer) is killed.
   *
   * @throws {ChildFailure} as {@linkcode route} does
   */
  async ping(signal: AbortSignal): Promise<void> {
    const id = this.#nextId++;
    const reply = await this.#request({ id, ping: true }, signal);
    if (reply.id !== id || !reply.pong) throw this.#die("crashed", "answered a ping wrongly");
  }

  /** Kill the process (SIGKILL); pending calls fail as `crashed`. */
  kill(): void {
    this.#die("crashed", "killed");
  }

  #request(message: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (signal.aborted) return Promise.reject(new ChildFailure("timeout", "deadline passed"));
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    const onAbort = () => reject(this.#die("timeout", "deadline passed"));
    signal.addEventListener("abort", onAbort, { once: true });
    this.#pending = { resolve, reject };
    this.#stdin.write(encoder.encode(JSON.stringify(message) + "\n")).catch(() =>
      this.#die("crashed", "stdin closed")
    );
    return promise.finally(() => {
      signal.removeEventListener("abort", onAbort);
      this.#pending = undefined;
    });
  }

  #die(kind: ChildFailureKind, message: string): ChildFailure {
    const failure = new ChildFailure(kind, message);
    if (this.#dead) return failure;
    this.#dead = failure;
    try {
      this.#process.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    this.#stdin.close().catch(() => {});
    this.#pending?.reject(failure);
    return failure;
  }

  async #read(): Promise<void> {
    let buffered = "";
    try {
      for await (const chunk of this.#process.stdout.pipeThrough(new TextDecoderStream())) {
        if (this.#dead) break;
        buffered += chunk;
        let newline;
        while ((newline = buffered.indexOf("\n")) >= 0) {
          this.#deliver(buffered.slice(0, newline));
          buffered = buffered.slice(newline + 1);
        }
        if (buffered.length > maxLineChars) this.#die("crashed", "answer too large");
      }
    } catch {
      // The pipe broke; the process is gone either way.
    }
    this.#die("crashed", "the child exited");
  }

  #deliver(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.#die("crashed", "wrote something that is not a protocol message");
      return;
    }
    if (!this.#pending || typeof message !== "object" || message === null) {
      this.#die("crashed", "wrote an unexpected message");
      return;
    }
    this.#pending.resolve(message as Record<string, unknown>);
  }
}

// With a cleared environment the child still needs to find Deno's cache.
function cacheEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["DENO_DIR", "HOME", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}
