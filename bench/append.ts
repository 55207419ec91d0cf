/**
 * Append: what one append statement costs Postgres, by batch size. The
 * store's own `appendBatch` writes batches of chat messages (an event, the
 * conversation's projection, an idempotency record each) and of ticket
 * creates (the ticket's event, two timers, its projection, an outbox row and
 * an idempotency record, with the queue's arrival in the same statement) at
 * 1, 3, 10 and 30 per statement; beside them, in the same run, a bare
 * multi-row insert of one row per operation. Measured: the CPU of the
 * backend serving the store's one connection (`/proc/<pid>/stat`), per
 * statement and per operation, and a straight line through them: a fixed
 * cost per statement (planning a cached plan's executor, the commit) and a
 * marginal cost per operation. The fixed part is why group commit batches.
 *
 * @module
 */
import postgres from "postgres";
import type { AppendRequest } from "../cluster/store/event_store.ts";
import { openPostgresStore } from "../cluster/store/postgres_store.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "../tests/_support/services.ts";
import { backendsOf } from "./_pg_backends.ts";
import { cpuSeconds } from "./_proc_stats.ts";
import type { Row, ScenarioOptions, ScenarioResult } from "./_report.ts";

const batchSizes = [1, 3, 10, 30];
const sizes = { full: { operations: 12_000 }, quick: { operations: 1500 } };

type Workload = "chat message" | "ticket create" | "refused claim" | "bare insert";
const workloads: Workload[] = ["chat message", "ticket create", "refused claim", "bare insert"];

interface Level {
  workload: Workload;
  batch: number;
  statements: number;
  /** µs of backend CPU per statement. */
  perStatement: number;
}

/** Run the scenario. */
export async function run({ quick, signal }: ScenarioOptions): Promise<ScenarioResult> {
  const { operations } = quick ? sizes.quick : sizes.full;
  const schema = uniqueName("sb_bench_append");
  const store = await openPostgresStore({ url: DATABASE_URL, schema, max: 1 });
  const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
  const levels: Level[] = [];
  try {
    await sql.unsafe(`create table ${schema}.bare_rows (
      k text not null, seq bigint not null, data jsonb not null, primary key (k, seq))`);
    const writer = await storeBackend(sql, store);
    const load = new Load();
    for (const workload of workloads) {
      for (const batch of batchSizes) {
        signal.throwIfAborted();
        const statements = Math.ceil(operations / batch);
        const write = () =>
          workload === "bare insert"
            ? sql.unsafe(bareInsert(schema), load.bareParams(batch))
            : store.appendBatch(load.batch(workload, batch)).then(({ conflicts }) => {
              if (conflicts.size > 0) throw new Error(`appends refused: ${[...conflicts]}`);
            });
        // The bare insert runs on the other connection: measure its backend instead.
        const pid = workload === "bare insert" ? await ownBackend(sql) : writer;
        for (let round = 0; round < 20; round++) await write();
        const before = 1e6 * await cpuSeconds(pid);
        for (let round = 0; round < statements; round++) await write();
        const used = 1e6 * await cpuSeconds(pid) - before;
        levels.push({ workload, batch, statements, perStatement: used / statements });
      }
    }
  } finally {
    await store.close();
    await sql.end();
    await dropSchema(schema);
  }
  return {
    scenario: "append",
    tables: [
      { title: "Postgres CPU per statement and per operation, by batch size", rows: rows(levels) },
      {
        title: "a straight line through them: fixed per statement, marginal per operation",
        rows: fits(levels),
      },
    ],
    details: { operations, batchSizes, levels },
  };
}

function rows(levels: Level[]): Row[] {
  return levels.map(({ workload, batch, statements, perStatement }) => ({
    workload,
    "per statement": batch,
    statements,
    "µs CPU per statement": Math.round(perStatement),
    "µs CPU per operation": Math.round(perStatement / batch),
  }));
}

// Least squares of µs per statement against the batch size, per workload.
function fits(levels: Level[]): Row[] {
  return workloads.map((workload) => {
    const points = levels.filter((level) => level.workload === workload);
    const n = points.length;
    const mx = points.reduce((s, p) => s + p.batch, 0) / n;
    const my = points.reduce((s, p) => s + p.perStatement, 0) / n;
    const slope = points.reduce((s, p) => s + (p.batch - mx) * (p.perStatement - my), 0) /
      points.reduce((s, p) => s + (p.batch - mx) ** 2, 0);
    return {
      workload,
      "fixed µs per statement": Math.round(my - slope * mx),
      "marginal µs per operation": Math.round(slope),
    };
  });
}

// The backend of the store's one connection: the process's backends but the
// bench's own connection.
async function storeBackend(
  sql: postgres.Sql,
  store: { load: (key: string, n: number) => Promise<unknown> },
): Promise<number> {
  await store.load("warm/up", 1);
  const own = await ownBackend(sql);
  const [pid] = (await backendsOf(sql, [Deno.pid])).filter((pid) => pid !== own);
  if (!pid) throw new Error("the store's backend was not found");
  return pid;
}

async function ownBackend(sql: postgres.Sql): Promise<number> {
  const [{ pid }] = await sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
  return pid;
}

function bareInsert(schema: string): string {
  return `insert into ${schema}.bare_rows (k, seq, data)
    select * from rows from (json_array_elements_text($1::text::json),
      unnest($2::text::bigint[]), jsonb_array_elements($3::text::jsonb))`;
}

/** The appends of the workloads, each actor's sequence carried on. */
class Load {
  #seqs = new Map<string, number>();
  #queueSeq = 0;
  #ids = 0;
  #now = Date.now();

  batch(workload: Workload, size: number): AppendRequest[] {
    if (workload === "chat message") {
      return Array.from({ length: size }, (_, i) => this.#message(`c${i}`));
    }
    if (workload === "refused claim") {
      return Array.from({ length: size }, () => this.#refusal());
    }
    const tickets = Array.from({ length: size }, () => this.#create(`t${++this.#ids}`));
    return [...tickets, this.#arrivals(tickets.map((t) => t.actorKey))];
  }

  bareParams(size: number): string[] {
    const keys = Array.from({ length: size }, () => `bare/${++this.#ids}`);
    return [
      JSON.stringify(keys),
      `{${keys.map(() => 1).join(",")}}`,
      JSON.stringify(keys.map(() => message)),
    ];
  }

  #message(conversation: string): AppendRequest {
    const actorKey = `session/acme/${conversation}`;
    const seq = (this.#seqs.get(actorKey) ?? 0) + 1;
    this.#seqs.set(actorKey, seq);
    const commandId = `m-${conversation}-${seq}`;
    return {
      actorKey,
      expectedSeq: seq - 1,
      events: [{ seq, type: "message", data: message, commandId, at: this.#now }],
      projection: {
        key: { tenant: "acme", kind: "session", id: conversation },
        row: {
          status: "active",
          assignee: "agent-1",
          createdAt: this.#now,
          updatedAt: this.#now + seq,
          doc: { ...conversationDoc, messages: seq },
        },
      },
      idempotency: [{
        commandId,
        fingerprint: "f".repeat(43),
        outcome: { ok: true, seq },
        createdAt: this.#now,
      }],
    };
  }

  #create(id: string): AppendRequest {
    const actorKey = `ticket/acme/${id}`;
    const commandId = `t-${id}`;
    return {
      actorKey,
      expectedSeq: 0,
      events: [{ seq: 1, type: "created", data: { ...ticketDoc, id }, commandId, at: this.#now }],
      timers: {
        set: [
          { name: "sla.first_response", at: this.#now + 3_600_000 },
          { name: "sla.resolution", at: this.#now + 86_400_000 },
        ],
        delete: [],
      },
      projection: {
        key: { tenant: "acme", kind: "ticket", id },
        row: {
          status: "open",
          assignee: null,
          createdAt: this.#now,
          updatedAt: this.#now,
          doc: { ...ticketDoc, id },
        },
      },
      outbox: [{
        actorKey,
        seq: 1,
        idx: 0,
        address: { kind: "queue", tenant: "acme", id: "main" },
        command: { type: "arrive", item: { kind: "ticket", id, priority: "normal", tags: [] } },
        commandId: `${commandId}:0:0`,
        createdAt: this.#now,
      }],
      idempotency: [{
        commandId,
        fingerprint: "f".repeat(43),
        outcome: { ok: true, seq: 1, receipt: { id } },
        createdAt: this.#now,
      }],
    };
  }

  // A losing claim of a storm: no event, only its refusal recorded at the
  // ticket's head (one of the tickets the creates wrote, each at seq 1).
  #refusal(): AppendRequest {
    const id = ++this.#ids;
    return {
      actorKey: `ticket/acme/t${1 + id % 50}`,
      expectedSeq: 1,
      events: [],
      idempotency: [{
        commandId: `claim-${id}`,
        fingerprint: "f".repeat(43),
        outcome: {
          ok: false,
          error: { code: "already_claimed", message: "the ticket is claimed by agent-17" },
        },
        createdAt: this.#now,
      }],
    };
  }

  #arrivals(tickets: string[]): AppendRequest {
    const expectedSeq = this.#queueSeq;
    const events = tickets.map((key) => ({
      seq: ++this.#queueSeq,
      type: "arrived",
      data: { item: { kind: "ticket", id: key.split("/")[2], priority: "normal", tags: [] } },
      commandId: `${key}:0:0`,
      at: this.#now,
    }));
    return {
      actorKey: "queue/acme/main",
      expectedSeq,
      events,
      idempotency: events.map((event) => ({
        commandId: event.commandId,
        fingerprint: null,
        outcome: { ok: true, seq: event.seq },
        createdAt: this.#now,
      })),
    };
  }
}

const message = {
  type: "message",
  id: "01JD8W5S1V3M7QK2X9Y4Z6A8BC",
  from: { role: "visitor", id: "anon:5f2c" },
  text: "Hello, my order has not arrived yet and the tracking page shows nothing.",
  at: 1_764_650_000_000,
};
const conversationDoc = {
  visitor: { id: "anon:5f2c", name: "Visitor" },
  status: "active",
  assignee: "agent-1",
  lastMessageAt: 1_764_650_000_000,
};
const ticketDoc = {
  subject: "Printer on fire on the third floor",
  status: "open",
  priority: "normal",
  tags: ["hardware"],
  requester: { email: "visitor@example.com", name: "Visitor" },
  team: null,
  assignee: null,
};
