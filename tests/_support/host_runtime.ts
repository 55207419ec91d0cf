// A host on a private schema of the shared Postgres, with the counter decider,
// and the request helpers the host tests share.
import type { TenantSettings } from "../../actors/decider.ts";
import type { EventStore } from "../../cluster/store/event_store.ts";
import { GroupCommitter } from "../../cluster/store/group_committer.ts";
import { ActorHost, type ActorHostOptions } from "../../cluster/runtime/host.ts";
import { openPostgresStore } from "../../cluster/store/postgres_store.ts";
import type { ActorRequest, ActorResponse } from "../../cluster/protocol.ts";
import { counterDecider } from "./counter_decider.ts";
import { DATABASE_URL, dropSchema, overrideStore, uniqueName } from "./services.ts";

export interface Runtime {
  host: ActorHost;
  batches: number[];
}

export function runtime(store: EventStore, options: Partial<ActorHostOptions> = {}): Runtime {
  const batches: number[] = [];
  const committer = new GroupCommitter(store, { onBatch: (size) => batches.push(size) });
  const host = new ActorHost({
    store,
    committer,
    deciders: [counterDecider],
    tenantSettings: () => Promise.resolve({} as TenantSettings),
    ...options,
  });
  return { host, batches };
}

let commandIds = 0;
export function add(id: string, extra: Partial<ActorRequest> = {}): ActorRequest {
  return {
    address: { kind: "counter", tenant: "t", id },
    op: "command",
    command: { type: "add" },
    commandId: `cmd-${++commandIds}`,
    deadline: Date.now() + 5000,
    ...extra,
  };
}

export async function withStore(work: (store: EventStore) => Promise<void>): Promise<void> {
  const schema = uniqueName("sb_test");
  const store = await openPostgresStore({ url: DATABASE_URL, schema, max: 4 });
  try {
    await work(store);
  } finally {
    await store.close();
    await dropSchema(schema);
  }
}

/** The store, with every append held until `release` is called. */
export function holdAppends(store: EventStore): { gated: EventStore; release: () => void } {
  let release!: () => void;
  const held = new Promise<void>((resolve) => release = resolve);
  const gated = overrideStore(store, {
    appendBatch: async (batch) => {
      await held;
      return await store.appendBatch(batch);
    },
  });
  return { gated, release };
}

export function seqOf(response: ActorResponse): number {
  if (!response.ok) throw new Error(`expected ok, got ${JSON.stringify(response.error)}`);
  return response.seq;
}
