// The multi-process scenarios' cluster: the integration tests' TestCluster
// (real `main.ts` nodes and edges under their own NATS prefix and Postgres
// schema), made disposable so a failed or interrupted scenario still kills
// its processes and drops its schema, plus the calls the scenarios share.
import postgres from "postgres";
import { call } from "../tests/_support/api_server.ts";
import { TestCluster } from "../tests/_support/cluster.ts";
import { ServiceProcess } from "../tests/_support/process.ts";
import {
  DATABASE_URL,
  deleteClusterKeys,
  NATS_URL,
  REDIS_URL,
} from "../tests/_support/services.ts";
import type { SwitchboardSetup } from "./_chat_switchboard.ts";
import { inspectorAddress } from "./_inspector.ts";
import { pooled } from "./_pool.ts";

/** The tenant of every token {@linkcode TestCluster.token} signs. */
export const tenant = "acme";

/** The actor key of a ticket, as the ring places it. */
export function ticketKey(id: string): string {
  return `ticket/${tenant}/${id}`;
}

/** How a {@linkcode BenchCluster}'s processes run. */
export interface BenchClusterOptions {
  /** The checkout whose `main.ts` the processes run; this one by default. */
  target?: string;
  /** Open each process's V8 inspector on a free port ({@linkcode BenchCluster.inspector}). */
  inspect?: boolean;
  natsUrl?: string;
}

const chatWidgetKey = "bench-widget-key-0123456789";

/** The id of a process that is node and edge in one, over the in-process bus. */
export const standaloneId = "standalone";

/**
 * A {@linkcode TestCluster} that cleans up on `await using`, with a pool on
 * its schema. Ids start as in {@linkcode TestCluster.start}, and
 * {@linkcode standaloneId} as one process with no NATS hop.
 */
export class BenchCluster extends TestCluster implements AsyncDisposable {
  #sql?: postgres.Sql;
  readonly #options: BenchClusterOptions;

  constructor(options: BenchClusterOptions = {}) {
    super(options.natsUrl ?? NATS_URL);
    this.#options = options;
  }

  /** Start `ids` (as {@linkcode BenchCluster.start}); disposed again if any fails to start. */
  static open(...ids: string[]): Promise<BenchCluster> {
    return BenchCluster.openWith({}, ...ids);
  }

  /** {@linkcode BenchCluster.open} with `options`. */
  static async openWith(options: BenchClusterOptions, ...ids: string[]): Promise<BenchCluster> {
    await using stack = new AsyncDisposableStack();
    const cluster = stack.use(new BenchCluster(options));
    await cluster.start(...ids);
    stack.move();
    return cluster;
  }

  /**
   * Start processes by id, all at once. Unlike the base class, the ones that
   * did start are kept (and so killed on dispose) when another one fails.
   */
  override async start(...ids: string[]): Promise<ServiceProcess[]> {
    const { target, inspect } = this.#options;
    const flags = inspect ? ["--inspect=127.0.0.1:0"] : [];
    const started = await Promise.allSettled(ids.map(async (id) => {
      const process = await ServiceProcess.start({
        env: this.env(id),
        command: [Deno.execPath(), "run", "-A", ...flags, "main.ts"],
        cwd: target,
      });
      this.processes.set(id, process);
      return process;
    }));
    const failure = started.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
    return started.map((result) => (result as PromiseFulfilledResult<ServiceProcess>).value);
  }

  // Nodes and edges as deployed: Redis holds the rate limits every request
  // spends and the CRDT snapshots (the tests' clusters run without it).
  override env(id: string): Record<string, string> {
    const env = { ...super.env(id), REDIS_URL };
    // One process against one Socket.IO process: neither shares anything.
    return id === standaloneId
      ? { ...env, SB_ROLE: "standalone", NATS_URL: "", REDIS_URL: "" }
      : env;
  }

  /** The inspector address of process `id`, started with `inspect`. */
  inspector(id: string): string {
    const address = this.get(id).logs.map((entry) => inspectorAddress(String(entry.message)))
      .find((found) => found !== undefined);
    if (!address) throw new Error(`${id} has no inspector: start the cluster with inspect`);
    return address;
  }

  /** A small pool with the cluster's schema as its search path. */
  get sql(): postgres.Sql {
    return this.#sql ??= postgres(DATABASE_URL, {
      max: 2,
      onnotice: () => {},
      connection: { search_path: this.schema, application_name: "switchboard-bench" },
    });
  }

  /** Wait until `edge` routes over exactly `nodes`, as its admin view says. */
  async waitForNodes(
    edge: string,
    nodes: string[],
    signal: AbortSignal,
    timeoutMs = 15_000,
  ): Promise<void> {
    const admin = await this.opsToken("bench-ops");
    const wanted = [...nodes].sort().join();
    const deadline = performance.now() + timeoutMs;
    let seen = "";
    while (performance.now() < deadline) {
      const status = await call(`${this.get(edge).url}/v1/admin/cluster`, admin, "GET");
      const view = status.body.nodes as { id: string }[] | undefined;
      seen = view?.map((node) => node.id).sort().join() ?? `status ${status.status}`;
      if (seen === wanted) return;
      await sleep(50, signal);
    }
    throw new Error(`${edge} still routes over ${seen}, not ${wanted}, after ${timeoutMs} ms`);
  }

  /**
   * Set tenant acme's widget key and sign `agents` agent tokens: what the chat
   * load needs to drive the cluster through `edges` (ids).
   */
  async chatSetup(
    edges: string[],
    agents: number,
    conversations: number,
  ): Promise<SwitchboardSetup> {
    const urls = edges.map((id) => this.get(id).url);
    const admin = await this.token("bench-admin", "admin");
    const response = await fetch(`${urls[0]}/v1/admin/settings`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ widget: { key: chatWidgetKey } }),
    });
    if (!response.ok) {
      throw new Error(`admin settings: ${response.status} ${await response.text()}`);
    }
    const agentTokens = await Promise.all(
      Array.from({ length: agents }, (_, a) => this.token(`agent${a}`, "agent")),
    );
    return {
      system: "switchboard",
      edges: urls,
      widgetKey: chatWidgetKey,
      agentTokens,
      conversations,
    };
  }

  /** Ticket actors active on each node, by the admin view of `edge`. */
  async ticketActors(edge: string): Promise<Record<string, number>> {
    const admin = await this.opsToken("bench-ops");
    const status = await call(`${this.get(edge).url}/v1/admin/cluster`, admin, "GET");
    if (status.status !== 200) throw new Error(`the admin view answered ${status.status}`);
    const nodes = status.body.nodes as { id: string; actors: Record<string, number> | null }[];
    return Object.fromEntries(nodes.map((node) => [node.id, node.actors?.ticket ?? 0]));
  }

  /** Open `count` tickets through `edge`, 50 at a time; returns their ids. */
  openTickets(edge: string, token: string, count: number): Promise<string[]> {
    const url = `${this.get(edge).url}/v1/tickets`;
    return pooled(Array.from({ length: count }, (_, i) => i), 50, async (i) => {
      const created = await call(url, token, "POST", { subject: `bench ${i}`, body: "b" });
      if (created.status !== 201) throw new Error(`create answered ${created.status}`);
      return created.body.id as string;
    });
  }

  /** GET every ticket through `edge`, 50 at a time, so each is active at its owner. */
  async touchTickets(edge: string, token: string, ids: string[]): Promise<void> {
    const url = `${this.get(edge).url}/v1/tickets/`;
    await pooled(ids, 50, async (id) => {
      const read = await call(url + id, token, "GET");
      if (read.status !== 200) throw new Error(`read of ${id} answered ${read.status}`);
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#sql?.end({ timeout: 5 });
    await this.close();
    await deleteClusterKeys(this.cluster);
  }
}

/** Resolve after `ms`, or reject at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", abort);
      resolve();
    }, ms);
    signal.addEventListener("abort", abort, { once: true });
  });
}
