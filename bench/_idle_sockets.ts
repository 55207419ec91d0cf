// The client of the connections scenario, run as its own process: opens
// many WebSockets, says hello on each (Switchboard's hello with a visitor
// token, or any frame to the echo floor), answers heartbeats, and idles
// until its stdin closes.
import { signToken } from "../edge/auth/auth.ts";
import { TextLineStream } from "../cluster/process/text_line_stream.ts";
import { denoCommand } from "./_child.ts";
import { pooled } from "./_pool.ts";

/** What to open. */
export interface IdleLoad {
  /** Base URL of the server. */
  url: string;
  count: number;
  /** Say Switchboard's hello, with a visitor token signed by `secret`; absent: the echo floor. */
  switchboard?: { secret: string; tenant: string };
}

/** Sockets held open by a client process. */
export interface IdleSockets {
  pid: number;
  opened: number;
  failed: number;
  /** Why the first failed socket failed. */
  firstFailure?: string;
  openMs: number;
  /** Close every socket and end the process; resolves with how many the server closed meanwhile. */
  close(): Promise<{ closedEarly: number }>;
}

// Opens in flight at once: enough to be quick, few enough not to time out.
const concurrency = 200;

/** Start a client process and resolve once all of `load`'s sockets are open (or failed). */
export async function openIdleSockets(load: IdleLoad, signal: AbortSignal): Promise<IdleSockets> {
  const child = denoCommand(["run", "--allow-net", import.meta.filename!, JSON.stringify(load)], {
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
    signal,
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TextLineStream(),
  ).getReader();
  const next = async () => {
    const { done, value } = await lines.read();
    if (done) throw new Error(`the idle socket client exited: ${(await child.status).code}`);
    return JSON.parse(value);
  };
  const opened = await next();
  return {
    pid: child.pid,
    ...opened,
    async close() {
      await child.stdin.close();
      const closed = await next();
      await child.status;
      return closed;
    },
  };
}

async function hold(load: IdleLoad): Promise<void> {
  const sockets: WebSocket[] = [];
  let holding = true;
  let closedEarly = 0;
  let firstFailure: string | undefined;
  const started = performance.now();
  const indexes = Array.from({ length: load.count }, (_, i) => i);
  await pooled(indexes, concurrency, async (i) => {
    try {
      const socket = await open(load, i);
      socket.addEventListener("close", () => holding && closedEarly++);
      sockets.push(socket);
    } catch (error) {
      firstFailure ??= String(error);
    }
  });
  const openMs = performance.now() - started;
  const failed = load.count - sockets.length;
  console.log(JSON.stringify({ opened: sockets.length, failed, firstFailure, openMs }));
  for await (const _ of Deno.stdin.readable) {
    // Nothing is sent on stdin; its end is the signal to stop.
  }
  holding = false;
  console.log(JSON.stringify({ closedEarly }));
  for (const socket of sockets) socket.close(1000);
}

async function open(load: IdleLoad, i: number): Promise<WebSocket> {
  const base = load.url.replace(/^http/, "ws");
  const hello = load.switchboard
    ? JSON.stringify({
      t: "hello",
      token: await signToken(load.switchboard.secret, {
        sub: `idle${i}`,
        tenant: load.switchboard.tenant,
        role: "visitor",
      }, 3600),
    })
    : JSON.stringify({ t: "hello" });
  const socket = new WebSocket(load.switchboard ? `${base}/v1/ws` : base);
  await new Promise<void>((resolve, reject) => {
    socket.onerror = () => reject(new Error("socket failed"));
    socket.onclose = (event) => reject(new Error(`closed before its answer: ${event.code}`));
    socket.onopen = () => socket.send(hello);
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (load.switchboard && frame.t !== "welcome") return reject(new Error(event.data));
      resolve();
    };
  });
  socket.onerror = null;
  socket.onclose = null;
  socket.onmessage = (event) => {
    if (JSON.parse(event.data).t === "ping") socket.send(JSON.stringify({ t: "pong" }));
  };
  return socket;
}

if (import.meta.main) await hold(JSON.parse(Deno.args[0]));
