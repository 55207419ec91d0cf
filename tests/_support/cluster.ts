// A real cluster on loopback: node and edge processes of main.ts sharing the
// test NATS and Postgres under a unique cluster prefix and schema.
import { signOpsToken, signToken } from "../../edge/auth/auth.ts";
import { ServiceProcess } from "./process.ts";
import { DATABASE_URL, dropSchema, NATS_URL, uniqueName } from "./services.ts";

export const CLUSTER_SECRET = "cluster-test-secret-0123456789abcdef";

/** The widget key of tenant acme in {@linkcode widgetCluster}. */
export const WIDGET_KEY = "widget-key-0123456789";

/** 3 nodes and 2 edges, with tenant acme's widget at {@linkcode WIDGET_KEY} (and its router, if given). */
export async function widgetCluster(
  routing?: { router: string },
): Promise<TestCluster> {
  const cluster = new TestCluster();
  await cluster.start("n1", "n2", "n3", "e1", "e2");
  const admin = await cluster.token("root", "admin");
  const response = await fetch(`${cluster.get("e1").url}/v1/admin/settings`, {
    method: "POST",
    headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
    body: JSON.stringify({ widget: { key: WIDGET_KEY }, ...(routing && { routing }) }),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`widget settings: ${response.status} ${body}`);
  return cluster;
}

export class TestCluster {
  readonly cluster = uniqueName("sbt");
  readonly schema = uniqueName("sb_test");
  readonly processes = new Map<string, ServiceProcess>();
  readonly natsUrl: string;

  readonly databaseUrl: string;

  constructor(natsUrl = NATS_URL, databaseUrl = DATABASE_URL) {
    this.natsUrl = natsUrl;
    this.databaseUrl = databaseUrl;
  }

  /** Start processes by id; ids starting with "e" are edges, the rest nodes. */
  async start(...ids: string[]): Promise<ServiceProcess[]> {
    const started = await Promise.all(ids.map((id) => ServiceProcess.start({ env: this.env(id) })));
    ids.forEach((id, i) => this.processes.set(id, started[i]));
    return started;
  }

  /** The environment of process `id` in this cluster. */
  env(id: string): Record<string, string> {
    return {
      SB_ROLE: id.startsWith("e") ? "edge" : "node",
      NODE_ID: id,
      NATS_URL: this.natsUrl,
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: "",
      SB_CLUSTER: this.cluster,
      SB_DB_SCHEMA: this.schema,
      SB_JWT_SECRET: CLUSTER_SECRET,
      SB_TENANT_RATE: "1000000",
      SB_CALLER_RATE: "1000000",
      SB_CONNECTION_RATE: "10000",
      SB_BOOTSTRAP_RATE: "1000",
    };
  }

  get(id: string): ServiceProcess {
    const process = this.processes.get(id);
    if (!process) throw new Error(`no process ${id}`);
    return process;
  }

  token(sub: string, role: "agent" | "supervisor" | "admin" = "agent"): Promise<string> {
    return signToken(CLUSTER_SECRET, { sub, tenant: "acme", role }, 3600);
  }

  /** The ops credential, for the cluster's admin view. */
  opsToken(sub = "ops"): Promise<string> {
    return signOpsToken(CLUSTER_SECRET, sub, 3600);
  }

  /** kill -9 and wait for the exit. */
  async kill(id: string): Promise<void> {
    const process = this.get(id);
    process.kill("SIGKILL");
    await process.exited();
    this.processes.delete(id);
  }

  async close(): Promise<void> {
    for (const process of this.processes.values()) process.kill("SIGKILL");
    await Promise.all([...this.processes.values()].map((p) => p.exited()));
    this.processes.clear();
    await dropSchema(this.schema);
  }
}
