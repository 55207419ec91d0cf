// Versioned migrations shared by the Postgres and PGlite drivers. Append only:
// a released migration is never edited, a change is a new entry.
export const migrations: readonly string[][] = [
  [
    `create table events (
      actor_key text not null,
      seq bigint not null,
      type text not null,
      data jsonb not null,
      command_id text not null,
      at bigint not null,
      reply jsonb,
      primary key (actor_key, seq)
    )`,
    `create table actor_heads (actor_key text primary key, seq bigint not null)`,
    `create table snapshots (actor_key text primary key, seq bigint not null, state jsonb not null)`,
    `create table timers (
      actor_key text not null,
      name text not null,
      due_at bigint not null,
      primary key (actor_key, name)
    )`,
    `create index timers_due on timers (due_at)`,
    `create table projections (
      tenant text not null,
      kind text not null,
      id text not null,
      status text not null,
      assignee text,
      created_at bigint not null,
      updated_at bigint not null,
      doc jsonb not null,
      primary key (tenant, kind, id)
    )`,
    `create index projections_recent on projections (tenant, kind, created_at desc, id desc)`,
    `create index projections_status on projections (tenant, kind, status, created_at desc, id desc)`,
    `create index projections_assignee on projections (tenant, kind, assignee, created_at desc, id desc)`,
    `create table tenants (id text primary key, settings jsonb not null)`,
  ],
  [
    `create table outbox (
      actor_key text not null,
      seq bigint not null,
      idx int not null,
      address jsonb not null,
      command jsonb not null,
      command_id text not null,
      created_at bigint not null,
      primary key (actor_key, seq, idx)
    )`,
    `create index outbox_age on outbox (created_at)`,
  ],
  [
    // The widget bootstrap finds its tenant by key; unique, so a key names one.
    `create unique index tenants_widget_key on tenants ((settings->'widget'->>'key'))`,
  ],
  [
    // Outbox commands their target refused for good, kept for ops instead of
    // dropped: the outbox row, with when and why.
    `create table outbox_dead_letters (
      like outbox,
      failed_at bigint not null,
      error jsonb not null,
      primary key (actor_key, seq, idx)
    )`,
    `create index outbox_dead_letters_recent on outbox_dead_letters (failed_at desc)`,
    // Polls page through due rows past other nodes' ones in these orders.
    `create index timers_due_page on timers (due_at, actor_key, name)`,
    `drop index timers_due`,
    `create index outbox_age_page on outbox (created_at, actor_key, seq, idx)`,
    `drop index outbox_age`,
  ],
  [
    // Idempotency: one small record per executed command of an actor, kept for
    // a time window and pruned; events no longer carry a reply.
    `create table idempotency (
      actor_key text not null,
      command_id text not null,
      fingerprint text,
      outcome jsonb not null,
      created_at bigint not null,
      primary key (actor_key, command_id)
    )`,
    `create index idempotency_recent on idempotency (actor_key, created_at desc)`,
    `create index idempotency_age on idempotency (created_at)`,
    // Replies stored before this migration stay answerable: the whole old
    // reply as the receipt, no fingerprint (any request with the id matches).
    `insert into idempotency (actor_key, command_id, fingerprint, outcome, created_at)
     select actor_key, command_id, null, jsonb_build_object('ok', true, 'seq', seq, 'receipt', reply), at
     from events where reply is not null
     on conflict do nothing`,
  ],
  [
    // Routing plugin versions per tenant (issue 9): the registry loads the
    // active and shadow ones into every node's sandbox. A version's source
    // never changes; its state does, and rollback goes back to the version
    // activated before the current one.
    `create table plugins (
      tenant text not null,
      name text not null,
      version text not null,
      source text not null,
      options jsonb not null,
      state text not null check (state in ('active', 'shadow', 'inactive')),
      created_at bigint not null,
      created_by text not null,
      activated_at bigint,
      primary key (tenant, name, version)
    )`,
    `create unique index plugins_one_active on plugins (tenant, name) where state = 'active'`,
    `create unique index plugins_one_shadow on plugins (tenant, name) where state = 'shadow'`,
  ],
  [
    // The event log's primary key fences appends (see appendStatement): the
    // head row each append rewrote is gone.
    `drop table actor_heads`,
    // A conversation rewrites its projection row with every message, leaving
    // its indexed columns as they were: room on the page lets Postgres update
    // it in place (HOT) instead of adding an entry to each of its indexes.
    `alter table projections set (fillfactor = 70)`,
    `alter table snapshots set (fillfactor = 70)`,
    // Lists filter by an assignee, never by its absence: an unassigned row
    // (every new ticket, every queued conversation) needs no entry.
    `create index projections_assigned on projections (tenant, kind, assignee, created_at desc, id desc)
     where assignee is not null`,
    `drop index projections_assignee`,
  ],
];

// Everything an activation needs, in one round trip: the latest snapshot,
// the events after it, the idempotency records of its recent commands (the
// fingerprint in the name column), and its timers.
export const loadActorSql = `
with snap as (select seq, state from snapshots where actor_key = $1)
select 'snapshot' as part, seq, state as data, null::text as command_id, null::bigint as at,
  null::text as name
from snap
union all
select 'event', seq, data, command_id, at, type from events
where actor_key = $1 and seq > coalesce((select seq from snap), 0)
union all
select 'command', created_at, outcome, command_id, null, fingerprint from (
  select created_at, outcome, command_id, fingerprint from idempotency
  where actor_key = $1 order by created_at desc limit $2
) recent
union all
select 'timer', due_at, null, null, null, name from timers where actor_key = $1`;

/**
 * The idempotency records of some commands of one actor ($2: a JSON array of
 * ids), one primary-key probe per id: as a semi-join the planner read every
 * record of the actor, which for a queue with thousands of commands in the
 * window cost milliseconds per lookup on its critical path.
 */
export const idempotencySql = `
select i.* from jsonb_array_elements_text($2::text::jsonb) as wanted(id)
cross join lateral (
  select command_id, fingerprint, outcome, created_at from idempotency x
  where x.actor_key = $1 and x.command_id = wanted.id limit 1
) i`;

// A bounded delete of the oldest expired records; rows another node's pruner
// holds are skipped, so pruners never wait on each other or on appends.
export const pruneIdempotencySql = `
with old as (
  select actor_key, command_id from idempotency where created_at < $1
  order by created_at limit $2 for update skip locked
),
gone as (
  delete from idempotency i using old
  where i.actor_key = old.actor_key and i.command_id = old.command_id
  returning 1
)
select count(*)::int as n from gone`;

/**
 * Delete delivered outbox entries ($1 actor keys as a JSON array, $2 and $3
 * their seqs and indexes as array literals), each found by a probe of the
 * primary key, as the append finds its rows.
 */
export const deleteOutboxSql = `
delete from outbox o using (
  select y.tid from rows from (json_array_elements_text($1::text::json),
    unnest($2::text::bigint[]), unnest($3::text::int[])) as d(actor_key, seq, idx)
  cross join lateral (
    select ctid as tid from outbox y
    where y.actor_key = d.actor_key and y.seq = d.seq and y.idx = d.idx limit 1
  ) y
) gone
where o.ctid = gone.tid`;
