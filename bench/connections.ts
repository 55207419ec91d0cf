/**
 * Connections: the memory an idle, authenticated WebSocket costs an edge.
 * One edge in a cluster (1 node + 1 edge, as deployed) holds 15,000 visitor
 * sockets that said hello and then only answer heartbeats; a bare
 * `Deno.upgradeWebSocket` echo server holds as many, the runtime's floor.
 * Each server's resident memory (VmRSS) is sampled before and after the
 * sockets open; ΔRSS ÷ sockets is the cost of one. A separate client
 * process holds the sockets; every process runs under the machine's file
 * limit (20,000).
 *
 * `--target <checkout>` runs the node and the edge from another checkout
 * (the "before" of a change); the floor and the client stay this one's.
 *
 * @module
 */
import { CLUSTER_SECRET } from "../tests/_support/cluster.ts";
import { startBareServer } from "./_bare_ws_server.ts";
import { type IdleLoad, openIdleSockets } from "./_idle_sockets.ts";
import { medianRss, openFileLimit } from "./_proc_stats.ts";
import { BenchCluster, sleep, tenant } from "./_process_cluster.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";

const sizes = { full: { sockets: 15_000 }, quick: { sockets: 2000 } };
/** RSS is the median of `samples` taken `everyMs` apart, `settleMs` after the change. */
const sampling = { settleMs: 3000, samples: 10, everyMs: 500 };
/** The target the issue sets: our cost above the floor, per socket. */
const targetKiBAboveFloor = 2;
// Descriptors a server needs beside its sockets: listeners, pools, the runtime's own.
const spareFiles = 500;

interface Held {
  server: string;
  sockets: number;
  failed: number;
  firstFailure?: string;
  openMs: number;
  /** Sockets the server closed while they idled; must be 0. */
  closedEarly: number;
  rssBefore: number;
  rssAfter: number;
  /** Authenticated sockets by the edge's own gauge. */
  serverCount?: number;
}

/** Run the scenario. */
export async function run({ quick, signal, target }: ScenarioOptions): Promise<ScenarioResult> {
  const { sockets } = quick ? sizes.quick : sizes.full;
  const floor = await onBareServer(sockets, signal);
  signal.throwIfAborted();
  const edge = await onEdge(sockets, signal, target);
  return {
    scenario: "connections",
    tables: [
      { title: "memory per idle WebSocket", rows: [floor, edge].map(heldRow) },
      { title: "target", rows: [targetRow(edge, floor)] },
    ],
    details: { sockets, sampling, targetKiBAboveFloor, floor, edge },
  };
}

async function onBareServer(sockets: number, signal: AbortSignal): Promise<Held> {
  await using server = await startBareServer();
  return await hold("bare Deno.upgradeWebSocket (floor)", server, {
    url: server.url,
    count: sockets,
  }, signal);
}

async function onEdge(sockets: number, signal: AbortSignal, target?: string): Promise<Held> {
  await using cluster = await BenchCluster.openWith({ target }, "n1", "e1");
  await cluster.waitForNodes("e1", ["n1"], signal);
  const edge = cluster.get("e1");
  const limit = await openFileLimit(edge.pid);
  if (limit < sockets + spareFiles) {
    throw new Error(
      `the edge may open ${limit} files, too few for ${sockets} sockets: run the bench under ` +
        `\`ulimit -n ${sockets + spareFiles}\``,
    );
  }
  return await hold(
    "switchboard edge (1 node + 1 edge)",
    edge,
    {
      url: edge.url,
      count: sockets,
      switchboard: { secret: CLUSTER_SECRET, tenant },
    },
    signal,
    () => visitorSockets(edge.url),
  );
}

async function hold(
  server: string,
  process: { pid: number },
  load: IdleLoad,
  signal: AbortSignal,
  count?: () => Promise<number>,
): Promise<Held> {
  await sleep(sampling.settleMs, signal);
  const rssBefore = await medianRss(process.pid, sampling.samples, sampling.everyMs);
  const clients = await openIdleSockets(load, signal);
  let after: { rssAfter: number; serverCount?: number };
  try {
    await sleep(sampling.settleMs, signal);
    after = {
      rssAfter: await medianRss(process.pid, sampling.samples, sampling.everyMs),
      serverCount: await count?.(),
    };
  } catch (error) {
    await clients.close().catch(() => {});
    throw error;
  }
  const { closedEarly } = await clients.close();
  const { opened, failed, firstFailure, openMs } = clients;
  return {
    server,
    sockets: opened,
    failed,
    firstFailure,
    openMs,
    closedEarly,
    rssBefore,
    ...after,
  };
}

async function visitorSockets(edge: string): Promise<number> {
  const text = await fetch(`${edge}/metrics`).then((response) => response.text());
  const gauge = text.match(/^sb_ws_sockets\{role="visitor"\} (\d+)$/m);
  return gauge ? Number(gauge[1]) : 0;
}

function perSocket(held: Held): number {
  return (held.rssAfter - held.rssBefore) / held.sockets;
}

const mib = (bytes: number) => bytes / 2 ** 20;

function heldRow(held: Held): Row {
  return {
    server: held.server,
    sockets: held.sockets,
    "failed to open": held.failed,
    "opened/s": held.sockets / (held.openMs / 1000),
    "closed while idle": held.closedEarly,
    "server counts": held.serverCount ?? null,
    "RSS before MiB": mib(held.rssBefore),
    "RSS after MiB": mib(held.rssAfter),
    "bytes/socket": Math.round(perSocket(held)),
    "KiB/socket": perSocket(held) / 1024,
  };
}

function targetRow(edge: Held, floor: Held): Row {
  const above = (perSocket(edge) - perSocket(floor)) / 1024;
  return {
    measure: "switchboard edge − floor, KiB per idle socket",
    value: above,
    target: `≤ ${targetKiBAboveFloor}`,
    verdict: above <= targetKiBAboveFloor ? "met" : "missed",
  };
}
