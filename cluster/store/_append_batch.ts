// The append of a whole batch of actors as one statement: its SQL and its
// parameters, built from the same column lists.
import type { AppendRequest } from "./event_store.ts";

// The rows of an append batch, by input set and column, in parameter order.
// Each column is one text parameter: numbers as an array literal, text and
// JSON as a JSON array. Drivers escape arrays of strings element by element,
// which cost the node more than the old JSON batch saved Postgres; one
// JSON.stringify per column is cheap on both sides.
const appendInputs = {
  a: { k: "text", exp: "bigint", events: "int" },
  e: { k: "text", seq: "bigint", type: "text", data: "jsonb", command_id: "text", at: "bigint" },
  s: { k: "text", seq: "bigint", state: "jsonb" },
  t: { k: "text", name: "text", at: "bigint" },
  td: { k: "text", name: "text" },
  p: {
    k: "text",
    tenant: "text",
    kind: "text",
    id: "text",
    status: "text",
    assignee: "text",
    created_at: "bigint",
    updated_at: "bigint",
    doc: "jsonb",
  },
  o: {
    k: "text",
    seq: "bigint",
    idx: "int",
    address: "jsonb",
    command: "jsonb",
    command_id: "text",
    created_at: "bigint",
  },
  i: {
    k: "text",
    command_id: "text",
    fingerprint: "text",
    outcome: "jsonb",
    created_at: "bigint",
  },
} as const;

type AppendInputs = typeof appendInputs;
type InputSet = keyof AppendInputs;
type InputRow<S extends InputSet> = { [C in keyof AppendInputs[S]]: unknown };

const inputSets = Object.keys(appendInputs) as InputSet[];
const inputTypes = Object.fromEntries(
  inputSets.map((set) => [set, Object.values(appendInputs[set]) as string[]]),
) as Record<InputSet, string[]>;

/** One append statement: its SQL, chosen by the parts the batch has rows for, and its parameters. */
export interface AppendStatement {
  sql: string;
  params: string[];
}

/**
 * The statement that appends `batch`: one round trip for a whole batch of
 * actors. Only the parts the batch has rows for are in it, since every
 * insert in a plan opens and locks its table and indexes even for no rows:
 * a chat message's append (an event, its projection, an idempotency record)
 * skips the snapshot, timers and outbox. Each shape is one cached plan.
 */
export function appendStatement(batch: AppendRequest[]): AppendStatement {
  const columns = Object.fromEntries(
    inputSets.map((set) => [set, inputTypes[set].map(() => [] as unknown[])]),
  ) as Record<InputSet, unknown[][]>;
  const add = <S extends InputSet>(set: S, row: InputRow<S>) => {
    let i = 0;
    for (const name in appendInputs[set]) columns[set][i++].push(row[name as keyof InputRow<S>]);
  };
  let multiEvent = false;
  for (const append of batch) {
    const k = append.actorKey;
    add("a", { k, exp: append.expectedSeq, events: append.events.length });
    if (append.events.length > 1) multiEvent = true;
    for (const e of append.events) {
      add("e", { k, seq: e.seq, type: e.type, data: e.data, command_id: e.commandId, at: e.at });
    }
    if (append.snapshot) add("s", { k, seq: append.snapshot.seq, state: append.snapshot.state });
    for (const { name, at } of append.timers?.set ?? []) add("t", { k, name, at });
    for (const name of append.timers?.delete ?? []) add("td", { k, name });
    if (append.projection) {
      const { key: { tenant, kind, id }, row } = append.projection;
      const { status, assignee, createdAt, updatedAt, doc } = row;
      add("p", {
        k,
        tenant,
        kind,
        id,
        status,
        assignee,
        created_at: createdAt,
        updated_at: updatedAt,
        doc,
      });
    }
    for (const o of append.outbox ?? []) {
      const { seq, idx, address, command } = o;
      add("o", { k, seq, idx, address, command, command_id: o.commandId, created_at: o.createdAt });
    }
    for (const r of append.idempotency ?? []) {
      const { fingerprint, outcome } = r;
      add("i", { k, command_id: r.commandId, fingerprint, outcome, created_at: r.createdAt });
    }
  }
  const present = inputSets.filter((set) =>
    set === "a" || set === "e" || columns[set][0].length > 0
  );
  const params = present.flatMap((set) =>
    columns[set].map((column, i) => {
      const type = inputTypes[set][i];
      return type === "text" || type === "jsonb" ? JSON.stringify(column) : `{${column.join(",")}}`;
    })
  );
  const shape = `${present.join(",")}${multiEvent ? "+" : ""}`;
  let sql = statements.get(shape);
  if (sql === undefined) statements.set(shape, sql = appendSql(new Set(present), multiEvent));
  return { sql, params };
}

const statements = new Map<string, string>();

// `rows from (…) as set(columns)`: the set's columns zipped back into rows,
// numbered after the columns of the sets before it in `present`.
function from(set: InputSet, present: Set<InputSet>): string {
  let n = 0;
  for (const other of inputSets) {
    if (other === set) break;
    if (present.has(other)) n += inputTypes[other].length;
  }
  const columns = Object.entries(appendInputs[set]);
  const functions = columns.map(([, type], i) => {
    const param = `$${n + i + 1}`;
    if (type === "jsonb") return `jsonb_array_elements(${param}::text::jsonb)`;
    if (type === "text") return `json_array_elements_text(${param}::text::json)`;
    return `unnest(${param}::text::${type}[])`;
  });
  return `rows from (${functions.join(", ")}) as ${set}(${columns.map(([c]) => c).join(", ")})`;
}

// The event log's primary key is the fence: an actor's append claims the
// sequence right after the one its writer expected, and only from a sequence
// that is stored (or none); the rest of that actor's rows are joined on the
// claims that succeeded, so a stale writer's append leaves no trace while
// the rest of the batch commits. An append of no events (a refusal's
// idempotency record) stands where that next sequence is still free.
function appendSql(present: Set<InputSet>, multiEvent: boolean): string {
  const rowsOf = (set: InputSet) => from(set, present);
  const included = appendParts.filter((part) =>
    (part.reads === undefined || present.has(part.reads)) && (multiEvent || !part.multiEventOnly)
  );
  return `with ${
    included.map(({ sql }) => typeof sql === "string" ? sql : sql(rowsOf)).join(",\n")
  }\nselect actor_key from ok`;
}

/** One common table expression of the append statement. */
interface AppendPart {
  /** The input set it reads, if any: left out with it (only `a` and `e` are always in). */
  reads?: InputSet;
  /** Only needed when some append has two or more events. */
  multiEventOnly?: true;
  /** Its SQL; one that reads an input set gets the set's `rows from (…)` from `rowsOf`. */
  sql: string | ((rowsOf: (set: InputSet) => string) => string);
}

const appendParts: AppendPart[] = [
  { reads: "a", sql: (rowsOf) => `a as (select * from ${rowsOf("a")})` },
  // Every look at a table is a probe by its primary key, written as a
  // lateral subquery with a limit so that the plan is one whatever the
  // statistics say: the plan is cached per connection, made while the
  // tables are small and for a batch of the default 100 rows, and as a
  // join it hashed the batch and read the whole event log on every append
  // until the log held tens of thousands of events.
  {
    sql: `fresh as (
  select a.* from a where a.exp = 0
  union all
  select a.* from a
  cross join lateral (
    select from events x where x.actor_key = a.k and x.seq = a.exp limit 1
  ) stored
  where a.exp > 0
)`,
  },
  { reads: "e", sql: (rowsOf) => `e as (select * from ${rowsOf("e")})` },
  {
    sql: `claimed as (
  insert into events (actor_key, seq, type, data, command_id, at)
  select e.k, e.seq, e.type, e.data, e.command_id, e.at
  from e join fresh f on f.k = e.k and e.seq = f.exp + 1
  on conflict do nothing
  returning actor_key
)`,
  },
  {
    sql: `ok as (
  select actor_key from claimed
  union all
  select f.k from fresh f
  left join lateral (
    select true as taken from events x where x.actor_key = f.k and x.seq = f.exp + 1 limit 1
  ) next on true
  where f.events = 0 and next.taken is null
)`,
  },
  {
    multiEventOnly: true,
    sql: `rest as (
  insert into events (actor_key, seq, type, data, command_id, at)
  select e.k, e.seq, e.type, e.data, e.command_id, e.at
  from e join claimed c on c.actor_key = e.k join a on a.k = e.k
  where e.seq > a.exp + 1
)`,
  },
  {
    reads: "s",
    sql: (rowsOf) =>
      `sn as (
  insert into snapshots (actor_key, seq, state)
  select s.k, s.seq, s.state from ${rowsOf("s")} join ok on ok.actor_key = s.k
  on conflict (actor_key) do update set seq = excluded.seq, state = excluded.state
  where snapshots.seq < excluded.seq
)`,
  },
  // Only the timers the turns changed, each by its primary key: a queue
  // holds one per waiting item, and rewriting them all made every turn O(n).
  {
    reads: "td",
    sql: (rowsOf) =>
      `tdel as (
  delete from timers x using (
    select y.tid from ${rowsOf("td")} join ok on ok.actor_key = td.k
    cross join lateral (
      select ctid as tid from timers y where y.actor_key = td.k and y.name = td.name limit 1
    ) y
  ) gone
  where x.ctid = gone.tid
)`,
  },
  {
    reads: "t",
    sql: (rowsOf) =>
      `tup as (
  insert into timers (actor_key, name, due_at)
  select t.k, t.name, t.at from ${rowsOf("t")} join ok on ok.actor_key = t.k
  on conflict (actor_key, name) do update set due_at = excluded.due_at
  where timers.due_at <> excluded.due_at
)`,
  },
  {
    reads: "p",
    sql: (rowsOf) =>
      `pr as (
  insert into projections (tenant, kind, id, status, assignee, created_at, updated_at, doc)
  select p.tenant, p.kind, p.id, p.status, p.assignee, p.created_at, p.updated_at, p.doc
  from ${rowsOf("p")} join ok on ok.actor_key = p.k
  on conflict (tenant, kind, id) do update set status = excluded.status,
    assignee = excluded.assignee, updated_at = excluded.updated_at, doc = excluded.doc
)`,
  },
  {
    reads: "o",
    sql: (rowsOf) =>
      `ob as (
  insert into outbox (actor_key, seq, idx, address, command, command_id, created_at)
  select o.k, o.seq, o.idx, o.address, o.command, o.command_id, o.created_at
  from ${rowsOf("o")} join ok on ok.actor_key = o.k
)`,
  },
  // Two activations of one actor can record the same refusal at the same
  // head; the first one stands, and the batch never fails for it.
  {
    reads: "i",
    sql: (rowsOf) =>
      `idem as (
  insert into idempotency (actor_key, command_id, fingerprint, outcome, created_at)
  select i.k, i.command_id, i.fingerprint, i.outcome, i.created_at
  from ${rowsOf("i")} join ok on ok.actor_key = i.k
  on conflict do nothing
)`,
  },
];
