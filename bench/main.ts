/**
 * `deno task bench`: run the benchmark scenarios, print their tables and
 * write JSON reports under `bench/results/`.
 *
 * ```sh
 * deno task bench                            # every scenario, full size
 * deno task bench --scenario claim-storm --quick
 * deno task bench --scenario profile --target ../old-checkout
 * ```
 *
 * `--target <dir>` runs the cluster of the scenarios that take it (profile)
 * from that checkout's `main.ts`; the bench itself stays this checkout's.
 *
 * Needs the services of the integration tests (Postgres, Redis; see
 * `tests/_support/services.ts` for the URLs and their variables).
 *
 * @module
 */
import { run as append } from "./append.ts";
import { run as chat } from "./chat.ts";
import { run as claimStorm } from "./claim_storm.ts";
import { run as claimStormCluster } from "./claim_storm_cluster.ts";
import { run as connections } from "./connections.ts";
import { run as crdt } from "./crdt.ts";
import { run as failover } from "./failover.ts";
import { run as profile } from "./profile.ts";
import { run as routing } from "./routing.ts";
import { run as scaleOut } from "./scale_out.ts";
import { run as ticketCreate } from "./ticket_create.ts";
import { markdown, type Scenario, type ScenarioResult, writeReports } from "./_report.ts";

const scenarios: Record<string, Scenario> = {
  "claim-storm": claimStorm,
  "claim-storm-cluster": claimStormCluster,
  failover,
  "scale-out": scaleOut,
  "ticket-create": ticketCreate,
  chat,
  connections,
  crdt,
  routing,
  profile,
  append,
};

const usage = `usage: deno task bench [--scenario NAME]... [--quick] [--target DIR]
scenarios: ${Object.keys(scenarios).join(", ")}`;

function parseArgs(
  args: string[],
): { names: string[]; quick: boolean; target: string | undefined } {
  const names: string[] = [];
  let quick = false;
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s);
    if (flag === "--quick") quick = true;
    else if (flag === "--scenario") names.push(inline ?? args[++i] ?? "");
    else if (flag === "--target") target = checkout(inline ?? args[++i] ?? "");
    else if (flag === "--help" || flag === "-h") {
      console.log(usage);
      Deno.exit(0);
    } else fail(`unknown argument ${args[i]}`);
  }
  for (const name of names) if (!Object.hasOwn(scenarios, name)) fail(`no scenario "${name}"`);
  return { names: names.length > 0 ? names : Object.keys(scenarios), quick, target };
}

// An absolute path to a directory holding a main.ts.
function checkout(dir: string): string {
  const path = Deno.realPathSync(dir || ".");
  try {
    Deno.statSync(`${path}/main.ts`);
  } catch {
    fail(`--target ${dir} holds no main.ts`);
  }
  return path;
}

function fail(message: string): never {
  console.error(`bench: ${message}\n${usage}`);
  Deno.exit(2);
}

const { names, quick, target } = parseArgs(Deno.args);

// The first Ctrl-C lets the running scenario drop its schema, keys and child
// processes on the way out; a second one quits at once.
const interrupted = new AbortController();
const interrupt = () => {
  if (interrupted.signal.aborted) Deno.exit(130);
  console.error("bench: interrupted, cleaning up (again to quit now)");
  interrupted.abort();
};
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, interrupt);

const run = {
  startedAt: new Date().toISOString(),
  quick,
  target: target ?? null,
  scenarios: names,
  deno: Deno.version,
  cpus: navigator.hardwareConcurrency,
  os: `${Deno.build.os} ${Deno.osRelease()}`,
};
const results: ScenarioResult[] = [];
try {
  for (const name of names) {
    console.error(`bench: ${name}${quick ? " (quick)" : ""}…`);
    const result = await scenarios[name]({ quick, target, signal: interrupted.signal });
    console.log(markdown(result));
    results.push(result);
  }
} catch (error) {
  if (!interrupted.signal.aborted) throw error;
  Deno.exit(130);
}
for (const file of await writeReports(results, run)) console.error(`bench: wrote ${file}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(signal, interrupt);
