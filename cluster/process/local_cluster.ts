/**
 * `deno task cluster [--nodes 3] [--edges 2]`: a local cluster in one
 * command, for trying failover and scale-out on one machine. Every node and
 * edge is a child process of `main.ts` against the configured NATS, Postgres
 * and Redis; their log lines come out prefixed with their id (`node-1 | …`),
 * the edges' URLs once they are ready. SIGINT (Ctrl-C) or SIGTERM stops every
 * child with SIGTERM, waits for them, and exits 0. A child that dies is
 * reported and not restarted.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./config.ts";
import { TextLineStream } from "./text_line_stream.ts";

const usage = "usage: deno task cluster [--nodes N (3)] [--edges M (2)]";
// Past this a draining child is killed: a drain takes well under it.
const STOP_TIMEOUT_MS = 15_000;

interface Member {
  id: string;
  role: "node" | "edge";
  /** The port it is told to take (0: any). */
  port: number;
}

interface Child {
  id: string;
  role: "node" | "edge";
  process: Deno.ChildProcess;
  /** The port it took, once it is ready. */
  port?: number;
}

const encoder = new TextEncoder();
function say(id: string, line: string): void {
  try {
    Deno.stdout.writeSync(encoder.encode(`${id} | ${line}\n`));
  } catch {
    // Nobody reads the output any more (a closed pipe): the cluster still
    // runs, and stops on a signal as ever.
  }
}

const counts = parseCounts(Deno.args);
const environment = Deno.env.toObject();
const problem = configurationProblem(environment);
if (problem) {
  console.error(`cluster: ${problem}`);
  Deno.exit(2);
}
// Edges on consecutive ports from SB_HTTP_PORT (0: each any free port);
// nodes on any free port.
const edgePort = Number(environment.SB_HTTP_PORT || "8080");
const members: Member[] = [
  ...Array.from(
    { length: counts.nodes },
    (_, i) => ({ id: `node-${i + 1}`, role: "node" as const, port: 0 }),
  ),
  ...Array.from({ length: counts.edges }, (_, i) => ({
    id: `edge-${i + 1}`,
    role: "edge" as const,
    port: edgePort && edgePort + i,
  })),
];
const width = Math.max("cluster".length, ...members.map(({ id }) => id.length));
const label = (id: string) => id.padEnd(width);

let stopping = false;
const children = members.map(spawn);
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, stop);
await Promise.all(children.map((child) => child.process.status));
if (!stopping) {
  say(label("cluster"), "every process has exited");
  Deno.exit(1);
}

function spawn({ id, role, port }: Member): Child {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: new URL("../../", import.meta.url).pathname,
    env: {
      SB_ROLE: role,
      NODE_ID: id,
      SB_HTTP_PORT: String(port),
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const child: Child = { id, role, process };
  say(label("cluster"), `${id} started (${role}, pid ${process.pid})`);
  for (const stream of [process.stdout, process.stderr]) {
    (async () => {
      const lines = stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
      for await (const line of lines) relay(child, line);
    })();
  }
  process.status.then((status) => {
    if (!stopping) say(label("cluster"), `${id} exited (${describe(status)})`);
  });
  return child;
}

// One child's log line, shortened to what the prefix does not already say.
function relay(child: Child, line: string): void {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line);
  } catch {
    say(label(child.id), line);
    return;
  }
  const { time, level, message, role: _role, node: _node, ...fields } = entry;
  const details = Object.entries(fields).map(([key, value]) =>
    `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`
  );
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  say(label(child.id), [clock, level, message, ...details].join(" "));
  if (message === "ready" && typeof fields.port === "number") {
    child.port = fields.port;
    announceEdges();
  }
}

function announceEdges(): void {
  const edges = children.filter((child) => child.role === "edge");
  if (!children.every((child) => child.port !== undefined)) return;
  const urls = edges.map((edge) => `http://127.0.0.1:${edge.port}`);
  say(label("cluster"), `ready: ${plural(counts.nodes, "node")}, ${plural(counts.edges, "edge")}`);
  if (urls.length) say(label("cluster"), `edges: ${urls.join(" ")}`);
}

async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(label("cluster"), "stopping");
  await Promise.all(children.map(async (child) => {
    try {
      child.process.kill("SIGTERM");
    } catch {
      // already gone
    }
    const killer = setTimeout(() => child.process.kill("SIGKILL"), STOP_TIMEOUT_MS);
    const status = await child.process.status;
    clearTimeout(killer);
    say(label("cluster"), `${child.id} stopped (${describe(status)})`);
  }));
  Deno.exit(0);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

function describe(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

function parseCounts(args: string[]): { nodes: number; edges: number } {
  try {
    const { values } = parseArgs({
      args,
      options: { nodes: { type: "string", default: "3" }, edges: { type: "string", default: "2" } },
    });
    const nodes = Number(values.nodes);
    const edges = Number(values.edges);
    if (!Number.isInteger(nodes) || nodes < 1 || !Number.isInteger(edges) || edges < 0) {
      throw new TypeError("--nodes must be at least 1 and --edges at least 0");
    }
    return { nodes, edges };
  } catch (error) {
    console.error(`cluster: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
}

// Caught here once rather than by every child alike; a cluster whose nodes
// each fell back to their own PGlite would be no cluster.
function configurationProblem(env: Record<string, string>): string | undefined {
  try {
    loadConfig({ ...env, SB_ROLE: "node", NODE_ID: "node-1" });
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  if (!env.DATABASE_URL) return "DATABASE_URL must name the Postgres every node shares";
}
