// A load generator in its own Deno process, so its CPU time is not the
// measured processes' and its event loop stalls no one else's: the input
// goes to the child as JSON on stdin, its result comes back as JSON on stdout.

/**
 * Run `module` (network access only) with `input` on its stdin and parse its
 * stdout; the child is killed when `signal` aborts.
 */
export async function runJsonChild<I, O>(
  module: string | URL,
  input: I,
  signal: AbortSignal,
): Promise<O> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", String(module)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    signal,
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(input)));
  await writer.close();
  const { code, stdout } = await child.output();
  if (code !== 0) throw new Error(`${module} exited with code ${code}`);
  return JSON.parse(new TextDecoder().decode(stdout));
}
