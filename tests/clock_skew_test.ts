// Deadlines cross the bus as a budget (time left), so a node whose clock is
// far off the edge's still honours it: real NATS, Postgres, membership.
import { assert, assertEquals } from "@std/assert";
import type { TenantSettings } from "../actors/decider.ts";
import { Membership } from "../cluster/placement/membership.ts";
import { ClusterRouter } from "../cluster/placement/request_router.ts";
import { startNodeService } from "../cluster/process/node_service.ts";
import type { ActorRequest } from "../cluster/protocol.ts";
import { ActorHost } from "../cluster/runtime/host.ts";
import { GroupCommitter } from "../cluster/store/group_committer.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { counterDecider } from "./_support/counter_decider.ts";
import { withPostgresStore } from "./_support/postgres_store.ts";
import { NATS_URL, overrideStore, uniqueName } from "./_support/services.ts";
import { until } from "./_support/until.ts";

const HOUR = 3_600_000;
const BUDGET = 5000;

for (const skew of [HOUR, -HOUR]) {
  Deno.test(`clocks: a node whose clock is ${skew > 0 ? "ahead" : "behind"} by an hour honours the edge's budget`, async () => {
    const cluster = uniqueName("sbclock");
    const nodeNow = () => Date.now() + skew;
    await withPostgresStore(async (store) => {
      const nodeBus = await connectNatsTransport({ url: NATS_URL, name: "n1" });
      const edgeBus = await connectNatsTransport({ url: NATS_URL, name: "e1" });
      const host = new ActorHost({
        store,
        committer: new GroupCommitter(store),
        deciders: [counterDecider],
        tenantSettings: () => Promise.resolve({} as TenantSettings),
        now: nodeNow,
      });
      const seen: ActorRequest[] = [];
      const watched = overrideStore(host, {
        dispatch: (request: ActorRequest) => (seen.push(request), host.dispatch(request)),
      });
      const nodeMembership = new Membership({
        transport: nodeBus,
        cluster,
        id: "n1",
        role: "node",
      });
      const edgeMembership = new Membership({
        transport: edgeBus,
        cluster,
        id: "e1",
        role: "edge",
      });
      const nodeRouter = new ClusterRouter({
        transport: nodeBus,
        membership: nodeMembership,
        cluster,
        now: nodeNow,
      });
      const service = startNodeService({
        id: "n1",
        cluster,
        transport: nodeBus,
        membership: nodeMembership,
        router: nodeRouter,
        host: watched,
        store,
        now: nodeNow,
      });
      const edgeRouter = new ClusterRouter({
        transport: edgeBus,
        membership: edgeMembership,
        cluster,
      });
      try {
        nodeMembership.start();
        edgeMembership.start();
        await Promise.all([nodeMembership.ready, edgeMembership.ready]);
        await until(() =>
          edgeRouter.ownerOf("counter/t/a") === "n1" && nodeRouter.ownerOf("counter/t/a") === "n1"
        );
        const response = await edgeRouter.request({
          address: { kind: "counter", tenant: "t", id: "a" },
          op: "command",
          command: { type: "add" },
          commandId: "c1",
          deadline: Date.now() + BUDGET,
        });
        assertEquals(response.ok, true, JSON.stringify(response));
        const left = seen[0].deadline - nodeNow();
        assert(left > 0 && left <= BUDGET, `the node saw ${left} ms left of a ${BUDGET} ms budget`);
      } finally {
        service.close();
        nodeMembership.stop();
        edgeMembership.stop();
        host.close();
        await Promise.all([nodeBus.close(), edgeBus.close()]);
      }
    });
  });
}
