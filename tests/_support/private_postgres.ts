// A Postgres server of the test's own, on a free port, that it may pause
// (SIGSTOP) and resume without disturbing the shared one.

export class PrivatePostgres {
  readonly url: string;
  #dir: string;
  #process: Deno.ChildProcess;

  private constructor(dir: string, port: number, process: Deno.ChildProcess) {
    this.#dir = dir;
    this.#process = process;
    this.url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = await Deno.makeTempDir({ prefix: "sb-pg-" });
    // Postgres refuses to run as root: its files and processes belong to `postgres`.
    await run("chown", ["postgres", dir]);
    await run("runuser", [
      "-u",
      "postgres",
      "--",
      "initdb",
      "-D",
      `${dir}/data`,
      "-A",
      "trust",
      "-U",
      "postgres",
    ]);
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    // setpriv execs postgres itself: a wrapper like su would stop along with it.
    const process = new Deno.Command("setpriv", {
      args: [
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "postgres",
        "-D",
        `${dir}/data`,
        "-p",
        String(port),
        "-k",
        dir,
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
      ],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = new PrivatePostgres(dir, port, process);
    // A bare TCP connect succeeds while the server still answers "starting
    // up"; pg_isready waits until it accepts sessions.
    const deadline = Date.now() + 15_000;
    while (!(await accepting(port))) {
      if (Date.now() > deadline) throw new Error(`private Postgres on ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return server;
  }

  /** Freeze the server and all its backends, as a stuck disk or a paused VM would. */
  pause(): Promise<void> {
    return this.#signal("STOP");
  }

  resume(): Promise<void> {
    return this.#signal("CONT");
  }

  async stop(): Promise<void> {
    await this.#signal("CONT").catch(() => {});
    await run("runuser", [
      "-u",
      "postgres",
      "--",
      "pg_ctl",
      "-D",
      `${this.#dir}/data`,
      "stop",
      "-m",
      "immediate",
      "-w",
    ])
      .catch(() => {});
    await this.#process.status;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }

  async #signal(name: string): Promise<void> {
    const postmaster = (await Deno.readTextFile(`${this.#dir}/data/postmaster.pid`)).split("\n")[0];
    await run("bash", [
      "-c",
      `kill -${name} ${postmaster} $(pgrep -P ${postmaster}) 2>/dev/null || true`,
    ]);
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!success) {
    throw new Error(`${command} ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
  }
}

async function accepting(port: number): Promise<boolean> {
  const args = ["-q", "-h", "127.0.0.1", "-p", String(port), "-t", "1"];
  const { success } = await new Deno.Command("pg_isready", { args, stdout: "null", stderr: "null" })
    .output();
  return success;
}
