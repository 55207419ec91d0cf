// The sandbox side of a routing plugin: one of these runs per child process,
// started with no permissions at all. It imports nothing (a static import
// would be read with the main module's rights): the host hands the plugin's
// source over stdin, it is imported from a `data:` URL, and every further
// import it makes is checked against the (empty) permissions.
//
// Protocol, one JSON object per line each way:
//   host → child  {"load": source}                  then {"id": n, "input": RouteInput}
//                                                   or   {"id": n, "ping": true}
//   child → host  {"loaded": {name, version}} | {"loadError": {name, message}}
//                 {"id": n, "decision": …}    | {"id": n, "error": {name, message}}
//                 {"id": n, "pong": true}

// Taken before the plugin runs, so that a plugin replacing or locking
// `Deno.stdout`, or logging with `console.log`, cannot break the protocol.
const out = Deno.stdout.writable.getWriter();
const encoder = new TextEncoder();
const stringify = JSON.stringify;
for (const method of ["log", "info", "debug", "dir", "table"] as const) {
  console[method] = console.error;
}

interface Plugin {
  name: string;
  version?: string;
  route(input: unknown): unknown;
}

let plugin: Plugin | undefined;

function send(message: unknown): Promise<void> {
  return out.write(encoder.encode(stringify(message) + "\n"));
}

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: "Error", message: String(error) };
}

async function load(source: string): Promise<void> {
  const module = await import("data:application/typescript," + encodeURIComponent(source));
  const candidate = module.default;
  if (typeof candidate !== "object" || candidate === null) {
    throw new TypeError("the module has no default export object");
  }
  if (typeof candidate.name !== "string" || candidate.name === "") {
    throw new TypeError("the default export has no string `name`");
  }
  if (typeof candidate.route !== "function") {
    throw new TypeError("the default export has no `route` function");
  }
  if (candidate.version !== undefined && typeof candidate.version !== "string") {
    throw new TypeError("the default export's `version` is not a string");
  }
  plugin = candidate;
}

async function handle(
  message: { load?: string; id?: number; input?: unknown; ping?: boolean },
): Promise<void> {
  if (typeof message.load === "string") {
    try {
      await load(message.load);
      await send({ loaded: { name: plugin!.name, version: plugin!.version } });
    } catch (error) {
      await send({ loadError: describe(error) });
    }
    return;
  }
  if (message.ping) {
    await send({ id: message.id, pong: true });
    return;
  }
  try {
    const decision = await plugin!.route(message.input);
    await send({ id: message.id, decision });
  } catch (error) {
    await send({ id: message.id, error: describe(error) });
  }
}

// One message at a time: the host sends the next call only after the answer.
let buffered = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    await handle(JSON.parse(line));
  }
}
