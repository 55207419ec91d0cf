// Conversation heads over the real bus: an edge's backend asks each owner
// node once for all of its conversations, and gets every head back in order.
import { assertEquals } from "@std/assert";
import type { TenantSettings } from "../actors/decider.ts";
import { actorKey } from "../cluster/actor_key.ts";
import { Membership } from "../cluster/placement/membership.ts";
import { ClusterRouter } from "../cluster/placement/request_router.ts";
import { ClusterBackend } from "../cluster/process/cluster_backend.ts";
import { startNodeService } from "../cluster/process/node_service.ts";
import { ActorHost } from "../cluster/runtime/host.ts";
import { GroupCommitter } from "../cluster/store/group_committer.ts";
import { connectNatsTransport } from "../cluster/transport/nats_transport.ts";
import { subjects } from "../cluster/transport/subjects.ts";
import { counterDecider } from "./_support/counter_decider.ts";
import { withPostgresStore } from "./_support/postgres_store.ts";
import { NATS_URL, uniqueName } from "./_support/services.ts";
import { until } from "./_support/until.ts";

// A counter whose view has a conversation's head: its count in both numberings.
const headed: typeof counterDecider = {
  ...counterDecider,
  view: (state) => ({ seq: state.n, publicSeq: state.n }),
};

// Node `id` of `cluster` on the real bus, over `store`; stopped with `stack`.
async function startNode(
  stack: AsyncDisposableStack,
  store: Parameters<Parameters<typeof withPostgresStore>[0]>[0],
  cluster: string,
  id: string,
) {
  const bus = await connectNatsTransport({ url: NATS_URL, name: id });
  stack.defer(() => bus.close());
  const host = new ActorHost({
    store,
    committer: new GroupCommitter(store),
    deciders: [headed],
    tenantSettings: () => Promise.resolve({} as TenantSettings),
  });
  stack.defer(() => host.close());
  const membership = new Membership({ transport: bus, cluster, id, role: "node" });
  stack.defer(() => membership.stop());
  const router = new ClusterRouter({ transport: bus, membership, cluster });
  const service = startNodeService({
    id,
    cluster,
    transport: bus,
    membership,
    router,
    host,
    store,
  });
  stack.defer(() => service.close());
  membership.start();
  return { bus, membership, router };
}

Deno.test("heads: one request per owner node answers every conversation's head, in order", async () => {
  const cluster = uniqueName("sbheads");
  await withPostgresStore(async (store) => {
    await using stack = new AsyncDisposableStack();
    const nodes = [
      await startNode(stack, store, cluster, "n1"),
      await startNode(stack, store, cluster, "n2"),
    ];
    const edgeBus = await connectNatsTransport({ url: NATS_URL, name: "e1" });
    stack.defer(() => edgeBus.close());
    const membership = new Membership({ transport: edgeBus, cluster, id: "e1", role: "edge" });
    stack.defer(() => membership.stop());
    const router = new ClusterRouter({ transport: edgeBus, membership, cluster });
    const backend = new ClusterBackend({ cluster, transport: edgeBus, membership, router });
    membership.start();
    const views = [membership, ...nodes.map((n) => n.membership)];
    await until(() => views.every((view) => view.view.nodes.length === 2), 10_000);

    const addresses = Array.from({ length: 12 }, (_, i) => ({
      kind: "counter",
      tenant: "acme",
      id: `c${i}`,
    }));
    // Conversation i holds i messages; c0 holds none (it does not exist).
    for (const [i, address] of addresses.entries()) {
      for (let n = 0; n < i; n++) {
        const added = await router.request({
          address,
          op: "command",
          command: { type: "add" },
          commandId: `${address.id}-${n}`,
          deadline: Date.now() + 5000,
        });
        assertEquals(added.ok, true, JSON.stringify(added));
      }
    }
    const owners = new Set(addresses.map((address) => router.ownerOf(actorKey(address))));
    assertEquals(owners.size, 2, "the conversations are spread over both nodes");

    const asked: string[] = [];
    const watcher = await connectNatsTransport({ url: NATS_URL, name: "watcher" });
    stack.defer(() => watcher.close());
    const names = subjects(cluster);
    for (const id of ["n1", "n2"]) {
      const subscription = watcher.subscribe(names.heads(id), () => asked.push(id));
      stack.defer(() => subscription.close());
    }
    await new Promise((resolve) => setTimeout(resolve, 100));

    const heads = await backend.heads(addresses, Date.now() + 5000);
    assertEquals(heads, addresses.map((_, i) => i === 0 ? null : { seq: i, publicSeq: i }));
    await until(() => asked.length === 2);
    assertEquals(asked.sort(), ["n1", "n2"], "one request per owner, not one per conversation");
  });
});

Deno.test("heads: a malformed request for heads is answered with none, and the node serves on", async () => {
  const cluster = uniqueName("sbheads");
  await withPostgresStore(async (store) => {
    await using stack = new AsyncDisposableStack();
    const { bus, router } = await startNode(stack, store, cluster, "n1");
    await until(() => router.ownerOf("counter/acme/x") === "n1", 10_000);
    const ask = (payload: unknown) =>
      bus.request(subjects(cluster).heads("n1"), payload, { timeoutMs: 2000 });
    const bad = [
      null,
      { addresses: "all", budgetMs: 100 },
      { addresses: [{ kind: "counter", tenant: "acme", id: "a b" }], budgetMs: 100 },
      { addresses: [], budgetMs: "soon" },
      {
        addresses: Array.from({ length: 501 }, () => ({ kind: "counter", tenant: "a", id: "x" })),
        budgetMs: 100,
      },
    ];
    for (const payload of bad) {
      assertEquals(await ask(payload), [], JSON.stringify(payload)?.slice(0, 80));
    }
    assertEquals(
      await ask({ addresses: [{ kind: "counter", tenant: "acme", id: "x" }], budgetMs: 2000 }),
      [null],
      "a conversation that does not exist has no head",
    );
  });
});
