// No Docker engine runs here, so compose.yaml is checked against the code's
// own configuration: services, commands, environment, health and restarts.
import { assert, assertEquals, assertExists } from "@std/assert";
import { parse } from "yaml";
import { configVariables, loadConfig } from "../cluster/process/config.ts";

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
  ports?: string[];
}

const root = new URL("../", import.meta.url);
const compose = parse(await Deno.readTextFile(new URL("compose.yaml", root)), { merge: true }) as {
  services: Record<string, Service>;
};
const tasks = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks as Record<
  string,
  string
>;
const services = compose.services;
const nodes = ["node1", "node2", "node3"];
const edges = ["edge1", "edge2"];

// Compose substitutes ${VAR:?message} from the shell; stand in a value.
function environmentOf(service: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map((
      [k, v],
    ) => [k, v.replace(/\$\{[^}]+\}/g, "x".repeat(32))]),
  );
}

Deno.test("compose: NATS with JetStream, Redis, Postgres, three nodes and two edges", () => {
  assertEquals(Object.keys(services).sort(), [
    "edge1",
    "edge2",
    "nats",
    "node1",
    "node2",
    "node3",
    "postgres",
    "redis",
  ]);
  assert(services.nats.command!.includes("-js"), "NATS runs JetStream");
});

Deno.test("compose: every node and edge runs the deno task of its role, with a valid configuration", () => {
  for (const [names, role] of [[nodes, "node"], [edges, "edge"]] as const) {
    for (const name of names) {
      const service = services[name];
      assertEquals(service.command, ["task", role]);
      assertExists(tasks[role]);
      assert(tasks[role].includes(`SB_ROLE=${role}`), `deno task ${role} sets SB_ROLE=${role}`);
      const env = environmentOf(service);
      for (const variable of Object.keys(env)) {
        assert(
          (configVariables as readonly string[]).includes(variable),
          `${name}: ${variable} is read by no code`,
        );
      }
      const config = loadConfig({ ...env, SB_ROLE: role });
      assertEquals(new URL(config.natsUrl!).hostname, "nats");
      assertEquals(new URL(config.databaseUrl!).hostname, "postgres");
      assertEquals(new URL(config.redisUrl!).hostname, "redis");
      assertEquals(config.nodeId, name);
      assertExists(config.jwtSecret);
    }
  }
  const clusters = new Set(
    [...nodes, ...edges].map((n) => loadConfig(environmentOf(services[n])).cluster),
  );
  assertEquals(clusters.size, 1, "all processes share one cluster prefix");
});

Deno.test("compose: the database URL matches the Postgres service's credentials", () => {
  const pg = services.postgres.environment!;
  const url = new URL(loadConfig(environmentOf(services.node1)).databaseUrl!);
  assertEquals([url.username, url.password, url.pathname.slice(1)], [
    pg.POSTGRES_USER,
    pg.POSTGRES_PASSWORD,
    pg.POSTGRES_DB,
  ]);
});

Deno.test("compose: health checks, restart policies, start order, published edge ports", () => {
  for (const [name, service] of Object.entries(services)) {
    assertExists(service.healthcheck, `${name} has a health check`);
    assertEquals(service.restart, "unless-stopped", `${name} restarts`);
  }
  for (const name of [...nodes, ...edges]) {
    assert(
      services[name].healthcheck!.test.join(" ").includes("/readyz"),
      `${name} is healthy when ready`,
    );
    for (const dependency of ["nats", "redis", "postgres"]) {
      assertEquals(services[name].depends_on?.[dependency]?.condition, "service_healthy");
    }
  }
  const port = loadConfig(environmentOf(services.edge1)).httpPort;
  assertEquals(edges.map((e) => services[e].ports![0].split(":")[1]), [String(port), String(port)]);
});
