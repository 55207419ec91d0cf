// Deno subprocesses of the benchmarks, each raised to the open-file limit the
// socket counts need: a process cannot raise its own limit, a shell can
// before it execs.
import { TextLineStream } from "../cluster/process/text_line_stream.ts";

/** The machine's hard limit; 15,000 sockets and their server fit under it. */
export const fileLimit = 20_000;

/** `deno <args>` under `ulimit -n` {@linkcode fileLimit}; its pid is Deno's own. */
export function denoCommand(
  args: string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.Command {
  return new Deno.Command("bash", {
    ...options,
    args: ["-c", `ulimit -n ${fileLimit} && exec "$0" "$@"`, Deno.execPath(), ...args],
  });
}

/** A server process that said which port it listens on; `await using` kills it. */
export interface ListeningChild extends AsyncDisposable {
  pid: number;
  url: string;
}

/**
 * Run `script` (`deno run -A`) with `args`, and resolve once it prints
 * `{"port": n}` as its first line on stdout.
 */
export async function spawnListening(script: string, args: string[]): Promise<ListeningChild> {
  const child = denoCommand(["run", "-A", script, ...args], {
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const dispose = async () => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  };
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  );
  try {
    for await (const line of lines) {
      const { port } = JSON.parse(line);
      return { pid: child.pid, url: `http://127.0.0.1:${port}`, [Symbol.asyncDispose]: dispose };
    }
    throw new Error(`${script} exited before listening`);
  } catch (error) {
    await dispose();
    throw error;
  }
}
