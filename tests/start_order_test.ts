// DESIGN §4's start order, with real processes: a start that fails never
// joins the view, co-located nodes come up with the default configuration,
// and a node fires no timer before it knows its peers.
import { assert, assertEquals, assertMatch } from "@std/assert";
import postgres from "postgres";
import { Membership } from "../cluster/placement/membership.ts";
import { Ring } from "../cluster/placement/ring.ts";
import { openPostgresStore } from "../cluster/store/postgres_store.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { TestCluster } from "./_support/cluster.ts";
import { ServiceProcess } from "./_support/process.ts";
import { NATS_URL } from "./_support/services.ts";

const root = new URL("../", import.meta.url).pathname;

/** A member of `cluster` run by the test itself, over its own NATS connection. */
async function testMember(cluster: string, id: string, role: "node" | "edge") {
  const transport = await connectNatsTransport({ url: NATS_URL, name: id });
  const membership = new Membership({ transport, cluster, id, role });
  const nodesSeen = new Set<string>();
  membership.onChange((view) => view.nodes.forEach((node) => nodesSeen.add(node)));
  membership.start();
  await membership.ready;
  return {
    nodesSeen,
    async close() {
      membership.stop();
      await transport.close();
    },
  };
}

Deno.test("start order: a node whose port is taken exits 1 with one line and never joins", async () => {
  const cluster = new TestCluster();
  const observer = await testMember(cluster.cluster, "observer", "edge");
  const taken = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  try {
    await cluster.start("n1");
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "main.ts"],
      cwd: root,
      env: { ...cluster.env("n2"), SB_HTTP_PORT: String(taken.addr.port) },
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(output.stderr);
    assertEquals(output.code, 1, stderr);
    const plain = stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
    assertEquals(plain.length, 1, stderr);
    assertMatch(plain[0], /^switchboard: cannot start: .*in use/i);
    // Two heartbeats' time for anything it announced to arrive.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert(observer.nodesSeen.has("n1"));
    assert(!observer.nodesSeen.has("n2"), `n2 was in a view: ${[...observer.nodesSeen]}`);
  } finally {
    taken.close();
    await observer.close();
    await cluster.close();
  }
});

Deno.test("start order: three nodes on one host with the default port all come up", async () => {
  const cluster = new TestCluster();
  try {
    const ids = ["n1", "n2", "n3"];
    const started = await Promise.all(
      ids.map((id) =>
        ServiceProcess.start({ env: { ...cluster.env(id), SB_HTTP_PORT: undefined } })
      ),
    );
    ids.forEach((id, i) => cluster.processes.set(id, started[i]));
    assertEquals(new Set(started.map((p) => p.port)).size, 3, "each node logs a port of its own");
    for (const process of started) {
      const response = await fetch(`${process.url}/healthz`);
      await response.body?.cancel();
      assertEquals(response.status, 200);
    }
  } finally {
    await cluster.close();
  }
});

Deno.test("start order: a node fires no timer of a peer's actor before it has heard the peer", async () => {
  const cluster = new TestCluster();
  const store = await openPostgresStore({
    url: cluster.databaseUrl,
    schema: cluster.schema,
    max: 1,
  });
  await store.close();
  const sql = postgres(cluster.databaseUrl, { max: 1, onnotice: () => {} });
  // A peer that heartbeats but never answers: whatever it owns must stay untouched.
  const peer = await testMember(cluster.cluster, "peer", "node");
  try {
    const ring = new Ring(["peer", "n1"]);
    const keys = Array.from({ length: 64 }, (_, i) => `ticket/acme/t${i}`);
    const peers = keys.find((key) => ring.owner(key) === "peer")!;
    const own = keys.find((key) => ring.owner(key) === "n1")!;
    for (const key of [peers, own]) {
      await sql.unsafe(
        `insert into ${cluster.schema}.timers (actor_key, name, due_at) values ($1, 'sla', $2)`,
        [key, Date.now() - 60_000],
      );
    }
    await cluster.start("n1");
    const pending = async () =>
      (await sql.unsafe(`select actor_key from ${cluster.schema}.timers`)).map((r) => r.actor_key);
    // Its own overdue timer fires once the view is known; the peer's never does.
    while ((await pending()).includes(own)) await new Promise((r) => setTimeout(r, 100));
    assertEquals(await pending(), [peers], cluster.get("n1").logText());
  } finally {
    await peer.close();
    await sql.end();
    await cluster.close();
  }
});
