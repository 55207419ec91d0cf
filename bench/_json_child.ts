// A load generator in its own Deno process, so its CPU time is not the
// measured processes' and its event loop stalls no one else's: the input
// goes to the child as JSON on stdin, its result comes back as JSON on
// stdout, and it tells where a measured window starts with a mark on its
// stderr, so that the parent can read what it measures at that moment (a
// heap profile's running totals) instead of guessing from a clock.
import { TextLineStream } from "../cluster/process/text_line_stream.ts";

const markPrefix = "bench-mark ";

/** Called with the name of each mark a load generator sets. */
export type OnMark = (name: string) => void;

/** Options of {@linkcode startJsonChild}. */
export interface JsonChildOptions {
  /** Deno permission flags of the child. @default ["--allow-net"] */
  permissions?: string[];
  onMark?: OnMark;
}

/** A started generator: its pid, and its parsed stdout once it exits. */
export interface JsonChild<O> {
  pid: number;
  result: Promise<O>;
}

/**
 * Run `module` with `input` on its stdin and parse its stdout, passing its
 * stderr on; the child is killed when `signal` aborts.
 */
export function startJsonChild<I, O>(
  module: string | URL,
  input: I,
  signal: AbortSignal,
  { permissions = ["--allow-net"], onMark = () => {} }: JsonChildOptions = {},
): JsonChild<O> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, String(module)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal,
  }).spawn();
  const result = (async () => {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(input)));
    await writer.close();
    const [stdout, , { code }] = await Promise.all([
      new Response(child.stdout).text(),
      forwardStderr(child.stderr, onMark),
      child.status,
    ]);
    if (code !== 0) throw new Error(`${module} exited with code ${code}`);
    return JSON.parse(stdout) as O;
  })();
  return { pid: child.pid, result };
}

/** {@linkcode startJsonChild}'s result alone. */
export function runJsonChild<I, O>(
  module: string | URL,
  input: I,
  signal: AbortSignal,
  options?: JsonChildOptions,
): Promise<O> {
  return startJsonChild<I, O>(module, input, signal, options).result;
}

/** In the generator: tell the parent that `name` starts now. */
export function mark(name: string): void {
  console.error(`${markPrefix}${name}`);
}

async function forwardStderr(stderr: Deno.ChildProcess["stderr"], onMark: OnMark): Promise<void> {
  const lines = stderr.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  for await (const line of lines) {
    if (line.startsWith(markPrefix)) onMark(line.slice(markPrefix.length));
    else console.error(line);
  }
}
