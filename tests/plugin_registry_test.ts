// The plugin registry across real processes: versions registered over the
// admin API reach every node's sandbox through Postgres and a NATS
// broadcast, swap under load without losing a call, and stay their tenant's.
import { assert, assertEquals } from "@std/assert";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { subjects } from "../cluster/transport/subjects.ts";
import type { Transport } from "../cluster/transport/transport.ts";
import type { PluginAdminRequest, PluginAdminResponse, PluginView } from "../cluster/protocol.ts";
import type { RouteOutcome } from "../plugins/host/plugin_host.ts";
import { signToken } from "../edge/auth/auth.ts";
import { call } from "./_support/api_server.ts";
import { CLUSTER_SECRET, TestCluster } from "./_support/cluster.ts";
import { request } from "./_support/plugin_sources.ts";

const nodes = ["n1", "n2", "n3"];

// A deadline a loaded machine meets: the test is about which version
// answers, and a timeout would answer with the fallback instead.
class PluginCluster extends TestCluster {
  override env(id: string): Record<string, string> {
    return { ...super.env(id), SB_PLUGIN_DEADLINE_MS: "3000" };
  }
}

/** A plugin that assigns the first candidate, saying which version it is. */
const version = (v: string) =>
  `export default { name: "first", route: ({ candidates }) => ({ assign: candidates[0].id, reason: "v${v}" }) };`;

// A dry-run routing call on one node, as the queue would make it there.
async function routeOn(
  bus: Transport,
  cluster: string,
  node: string,
  tenant = "acme",
): Promise<RouteOutcome> {
  const asked: PluginAdminRequest = { op: "route", tenant, name: "first", request: request() };
  const answer = await bus.request(subjects(cluster).pluginAdminAt(node), asked, {
    timeoutMs: 10_000,
  }) as PluginAdminResponse;
  assert(answer.ok && "outcome" in answer, JSON.stringify(answer));
  return answer.outcome;
}

async function everyNodeRoutesWith(bus: Transport, cluster: string, expected: string) {
  const deadline = Date.now() + 20_000;
  for (const node of nodes) {
    while ((await routeOn(bus, cluster, node)).router.version !== expected) {
      assert(Date.now() < deadline, `${node} never routed with version ${expected}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

Deno.test("3 nodes + 1 edge: plugins registered over the admin API route on every node, swap under load, stay their tenant's", async (t) => {
  const cluster = new PluginCluster();
  const bus = await connectNatsTransport({ url: cluster.natsUrl, name: "plugin-test" });
  try {
    await cluster.start(...nodes, "e1");
    const url = cluster.get("e1").url;
    const admin = await cluster.token("root", "admin");
    const plugins = `${url}/v1/admin/plugins`;

    await t.step("a registered version routes on every node", async () => {
      const registered = await call(plugins, admin, "POST", {
        name: "first",
        version: "1",
        source: version("1"),
      });
      assertEquals(registered.status, 201, JSON.stringify(registered.body));
      assertEquals(registered.body.state, "active");
      assertEquals(registered.body.createdBy, "root");
      await everyNodeRoutesWith(bus, cluster.cluster, "1");
      for (const node of nodes) {
        const listed = await call(`${plugins}?node=${node}`, admin, "GET");
        assertEquals(listed.body.node, node);
        const [v1] = listed.body.items as PluginView[];
        assertEquals([v1.version, v1.state, v1.local?.role], ["1", "active", "active"]);
        assert(v1.local!.stats.calls > 0, `${node} counted no call`);
      }
      const again = await call(plugins, admin, "POST", {
        name: "first",
        version: "1",
        source: version("1"),
      });
      assertEquals(again.status, 201, "the same registration again answers the stored one");
      const changed = await call(plugins, admin, "POST", {
        name: "first",
        version: "1",
        source: version("x"),
      });
      assertEquals([changed.status, (changed.body.error as { code: string }).code], [
        409,
        "version_taken",
      ]);
    });

    await t.step(
      "activating a new version under load loses no call and runs none on a half-loaded version",
      async () => {
        let stop = false;
        const seen: string[][] = [];
        const failures: string[] = [];
        // Four callers per node, each one call after the other: once a caller
        // has seen version 2, every later call of it started after the swap.
        const callers = nodes.flatMap((node) =>
          [0, 1].map(async () => {
            const versions: string[] = [];
            seen.push(versions);
            while (!stop) {
              const outcome = await routeOn(bus, cluster.cluster, node).catch((e) => {
                failures.push(String(e));
                return undefined;
              });
              if (!outcome) continue;
              if (outcome.fallback) failures.push(`${node}: ${JSON.stringify(outcome.fallback)}`);
              versions.push(outcome.router.version);
            }
          })
        );
        await new Promise((resolve) => setTimeout(resolve, 200));
        const registered = await call(plugins, admin, "POST", {
          name: "first",
          version: "2",
          source: version("2"),
        });
        assertEquals(registered.status, 201, JSON.stringify(registered.body));
        // The answering node swapped before answering, to a version whose
        // children already ran: none of its calls waited for one to start.
        const local = registered.body.local as PluginView["local"];
        assertEquals([local?.role, local?.children], ["active", 2]);
        await everyNodeRoutesWith(bus, cluster.cluster, "2");
        await new Promise((resolve) => setTimeout(resolve, 200));
        stop = true;
        await Promise.all(callers);
        assertEquals(failures, []);
        for (const versions of seen) {
          assert(versions.length > 0);
          const firstTwo = versions.indexOf("2");
          assert(firstTwo >= 0, "a caller never reached version 2");
          assertEquals(versions.slice(firstTwo).filter((v) => v !== "2"), [], "back to 1 after 2");
          assertEquals(versions.slice(0, firstTwo).filter((v) => v !== "1"), []);
        }
      },
    );

    await t.step(
      "rollback goes back to the version active before; a shadow is promoted by activation",
      async () => {
        const rolledBack = await call(`${plugins}/first/rollback`, admin, "POST", {});
        assertEquals([rolledBack.status, rolledBack.body.version], [200, "1"]);
        await everyNodeRoutesWith(bus, cluster.cluster, "1");
        const nothingBefore = await call(`${plugins}/first/rollback`, admin, "POST", {});
        assertEquals([nothingBefore.status, (nothingBefore.body.error as { code: string }).code], [
          409,
          "no_previous_version",
        ]);

        const shadow = await call(plugins, admin, "POST", {
          name: "first",
          version: "3",
          source: version("3"),
          mode: "shadow",
        });
        assertEquals([shadow.status, shadow.body.state], [201, "shadow"]);
        for (const node of nodes) {
          const deadline = Date.now() + 20_000;
          while (true) {
            assertEquals((await routeOn(bus, cluster.cluster, node)).router.version, "1");
            const listed = await call(`${plugins}?node=${node}`, admin, "GET");
            const v3 = (listed.body.items as PluginView[]).find((p) => p.version === "3")!;
            if (v3.local?.role === "shadow" && v3.local.stats.shadow.calls > 0) {
              assertEquals(v3.local.stats.shadow.agreed, v3.local.stats.shadow.calls);
              break;
            }
            assert(Date.now() < deadline, `${node} never shadowed version 3`);
          }
        }
        const promoted = await call(`${plugins}/first/activate`, admin, "POST", { version: "3" });
        assertEquals([promoted.status, promoted.body.state], [200, "active"]);
        await everyNodeRoutesWith(bus, cluster.cluster, "3");
        const unknown = await call(`${plugins}/first/activate`, admin, "POST", { version: "9" });
        assertEquals(unknown.status, 404);
      },
    );

    await t.step(
      "invalid plugins are refused with the sandbox's code and stored nowhere",
      async () => {
        const refusals: [string, string, number, string][] = [
          ["syntax", "export default {", 422, "load_failed"],
          ["no-route", 'export default { name: "x" };', 422, "load_failed"],
          [
            "spins",
            'export default { name: "x", route() { while (true) {} } };',
            422,
            "probe_failed",
          ],
          [
            "garbage",
            'export default { name: "x", route: () => ({ assign: "nobody" }) };',
            422,
            "probe_failed",
          ],
        ];
        for (const [name, source, status, code] of refusals) {
          const refused = await call(plugins, admin, "POST", { name, version: "1", source });
          assertEquals(refused.status, status, `${name}: ${JSON.stringify(refused.body)}`);
          assertEquals((refused.body.error as { code: string }).code, code);
        }
        const badName = await call(plugins, admin, "POST", {
          name: "../x",
          version: "1",
          source: version("1"),
        });
        assertEquals(badName.status, 400);
        const listed = await call(plugins, admin, "GET");
        assertEquals((listed.body.items as PluginView[]).map((p) => p.name), [
          "first",
          "first",
          "first",
        ]);
        const agent = await call(plugins, await cluster.token("alice", "supervisor"), "GET");
        assertEquals(agent.status, 403);
      },
    );

    await t.step("another tenant neither sees nor uses nor changes the plugin", async () => {
      const other = await signToken(
        CLUSTER_SECRET,
        { sub: "eve", tenant: "globex", role: "admin" },
        3600,
      );
      const listed = await call(plugins, other, "GET");
      assertEquals([listed.status, listed.body.items], [200, []]);
      const outcome = await routeOn(bus, cluster.cluster, "n1", "globex");
      assertEquals(outcome.fallback?.cause, "not-loaded");
      const activate = await call(`${plugins}/first/activate`, other, "POST", { version: "1" });
      assertEquals(activate.status, 404);
      const own = await call(plugins, other, "POST", {
        name: "first",
        version: "1",
        source: version("g"),
      });
      assertEquals(own.status, 201, "the same name and version are free in another tenant");
      const reason = async (tenant: string) => {
        const decided = await routeOn(bus, cluster.cluster, "n2", tenant);
        return (decided.decision as { reason?: string }).reason;
      };
      const deadline = Date.now() + 20_000;
      while (await reason("globex") !== "vg") assert(Date.now() < deadline);
      assertEquals(await reason("acme"), "v3");
    });
  } finally {
    await bus.close();
    await cluster.close();
  }
});
