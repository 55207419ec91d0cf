/**
 * The {@linkcode EventStore} over SQL, shared by the Postgres and PGlite
 * drivers.
 *
 * @module
 */
import type { StoredTenantSettings } from "../../actors/decider.ts";
import type { Page, ProjectionQuery, StoredEvent } from "../protocol.ts";
import {
  type AppendRequest,
  type DueTimer,
  type EventStore,
  type LoadedActor,
  type OutboxEntry,
  StoreUnavailableError,
  WidgetKeyTakenError,
} from "./event_store.ts";
import type { SqlClient } from "./_sql_client.ts";
import { appendBatchSql, loadActorSql, migrations } from "./_sql_schema.ts";

// Any integer both drivers agree on; it only serialises concurrent migrations.
const MIGRATION_LOCK = 7_305_411;

/** `name` as a quoted SQL identifier: a reserved word such as `user` stays a name. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Apply pending migrations, serialised across processes by an advisory lock. */
export async function migrate(client: SqlClient, schema: string): Promise<void> {
  await client.transaction(async (query) => {
    await query(`select pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await query(`create schema if not exists ${quoteIdentifier(schema)}`);
    await query(`set local search_path to ${quoteIdentifier(schema)}`);
    await query(
      `create table if not exists schema_migrations (version int primary key, applied_at bigint not null)`,
    );
    const done = await query<{ version: number }>(`select version from schema_migrations`);
    const applied = new Set(done.map((row) => Number(row.version)));
    for (const [index, statements] of migrations.entries()) {
      const version = index + 1;
      if (applied.has(version)) continue;
      for (const statement of statements) await query(statement);
      await query(`insert into schema_migrations (version, applied_at) values ($1, $2)`, [
        version,
        Date.now(),
      ]);
    }
  });
}

interface LoadRow {
  part: "snapshot" | "event" | "reply" | "timer";
  seq: number | string;
  data: unknown;
  command_id: string | null;
  at: number | string | null;
  name: string | null;
}

interface EventRow {
  seq: number | string;
  type: string;
  data: Record<string, unknown>;
  command_id: string;
  at: number | string;
}

/** An {@linkcode EventStore} over any {@linkcode SqlClient}. */
export class SqlEventStore implements EventStore {
  #client: SqlClient;

  constructor(client: SqlClient) {
    this.#client = client;
  }

  async appendBatch(batch: AppendRequest[]): Promise<{ conflicts: Set<string> }> {
    if (batch.length === 0) return { conflicts: new Set() };
    const input = batch.map((append) => ({
      k: append.actorKey,
      exp: append.expectedSeq,
      new: append.events.at(-1)?.seq ?? append.expectedSeq,
      ev: append.events,
      snap: append.snapshot,
      tm: append.timers,
      pr: append.projection && { ...append.projection.key, ...append.projection.row },
      ob: append.outbox,
    }));
    const rows = await this.#run(() =>
      this.#client.query<{ actor_key: string }>(appendBatchSql, [JSON.stringify(input)])
    );
    const written = new Set(rows.map((row) => row.actor_key));
    return { conflicts: new Set(batch.map((a) => a.actorKey).filter((k) => !written.has(k))) };
  }

  async load(actorKey: string, replyWindow: number): Promise<LoadedActor> {
    const rows = await this.#run(() =>
      this.#client.query<LoadRow>(loadActorSql, [actorKey, replyWindow])
    );
    const loaded: LoadedActor = { snapshot: null, events: [], replies: [], timers: [] };
    for (const row of rows) {
      const seq = Number(row.seq);
      if (row.part === "snapshot") loaded.snapshot = { seq, state: row.data };
      else if (row.part === "event") {
        loaded.events.push({
          seq,
          type: row.name!,
          data: row.data as Record<string, unknown>,
          commandId: row.command_id!,
          at: Number(row.at),
        });
      } else if (row.part === "reply") {
        loaded.replies.push({ commandId: row.command_id!, seq, reply: row.data });
      } else loaded.timers.push({ name: row.name!, at: seq });
    }
    loaded.events.sort((a, b) => a.seq - b.seq);
    loaded.replies.sort((a, b) => b.seq - a.seq);
    return loaded;
  }

  async events(actorKey: string, afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.#run(() =>
      this.#client.query<EventRow>(
        `select seq, type, data, command_id, at from events
         where actor_key = $1 and seq > $2 order by seq limit $3`,
        [actorKey, afterSeq, Math.min(limit, 1_000_000)],
      )
    );
    return rows.map((row) => ({
      seq: Number(row.seq),
      type: row.type,
      data: row.data,
      commandId: row.command_id,
      at: Number(row.at),
    }));
  }

  async messages(
    actorKey: string,
    numbering: "seq" | "publicSeq",
    after: number,
    limit: number,
  ): Promise<Record<string, unknown>[]> {
    const visible = numbering === "publicSeq"
      ? "and not coalesce((data->>'internal')::boolean, false)"
      : "";
    const rows = await this.#run(() =>
      this.#client.query<{ data: Record<string, unknown> }>(
        `select data from events
         where actor_key = $1 and type = 'message' and (data->>$2)::bigint > $3 ${visible}
         order by seq limit $4`,
        [actorKey, numbering, after, limit],
      )
    );
    return rows.map((row) => row.data);
  }

  async list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>> {
    const where = ["tenant = $1", "kind = $2"];
    const params: unknown[] = [query.tenant, query.kind];
    if (query.status !== undefined) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    if (query.assignee !== undefined) {
      params.push(query.assignee);
      where.push(`assignee = $${params.length}`);
    }
    if (query.cursor !== undefined) {
      const [createdAt, id] = decodeCursor(query.cursor);
      params.push(createdAt, id);
      where.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(query.limit + 1);
    const rows = await this.#run(() =>
      this.#client.query<{ id: string; created_at: number | string; doc: Record<string, unknown> }>(
        `select id, created_at, doc from projections where ${where.join(" and ")}
         order by created_at desc, id desc limit $${params.length}`,
        params,
      )
    );
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return {
      items: items.map((row) => row.doc),
      nextCursor: rows.length > query.limit && last
        ? encodeCursor(Number(last.created_at), last.id)
        : null,
    };
  }

  async dueTimers(until: number, limit: number): Promise<DueTimer[]> {
    const rows = await this.#run(() =>
      this.#client.query<{ actor_key: string; name: string; due_at: number | string }>(
        `select actor_key, name, due_at from timers where due_at <= $1 order by due_at limit $2`,
        [until, limit],
      )
    );
    return rows.map((row) => ({ actorKey: row.actor_key, name: row.name, at: Number(row.due_at) }));
  }

  async pendingOutbox(until: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await this.#run(() =>
      this.#client.query<{
        actor_key: string;
        seq: number | string;
        idx: number;
        address: OutboxEntry["address"];
        command: OutboxEntry["command"];
        command_id: string;
        created_at: number | string;
      }>(
        `select actor_key, seq, idx, address, command, command_id, created_at from outbox
         where created_at <= $1 order by created_at limit $2`,
        [until, limit],
      )
    );
    return rows.map((row) => ({
      actorKey: row.actor_key,
      seq: Number(row.seq),
      idx: Number(row.idx),
      address: row.address,
      command: row.command,
      commandId: row.command_id,
      createdAt: Number(row.created_at),
    }));
  }

  async deleteOutbox(entry: Pick<OutboxEntry, "actorKey" | "seq" | "idx">): Promise<void> {
    await this.#run(() =>
      this.#client.query(`delete from outbox where actor_key = $1 and seq = $2 and idx = $3`, [
        entry.actorKey,
        entry.seq,
        entry.idx,
      ])
    );
  }

  async deleteTimer(timer: DueTimer): Promise<void> {
    await this.#run(() =>
      this.#client.query(`delete from timers where actor_key = $1 and name = $2 and due_at = $3`, [
        timer.actorKey,
        timer.name,
        timer.at,
      ])
    );
  }

  async tenantSettings(tenant: string): Promise<StoredTenantSettings | null> {
    const rows = await this.#run(() =>
      this.#client.query<{ settings: StoredTenantSettings }>(
        `select settings from tenants where id = $1`,
        [tenant],
      )
    );
    return rows[0]?.settings ?? null;
  }

  async putTenantSettings(tenant: string, settings: StoredTenantSettings): Promise<void> {
    try {
      await this.#run(() =>
        this.#client.query(
          `insert into tenants (id, settings) values ($1, $2::text::jsonb)
           on conflict (id) do update set settings = excluded.settings`,
          [tenant, JSON.stringify(settings)],
        )
      );
    } catch (error) {
      // The upsert cannot break the primary key, so a unique violation
      // (23505) is the widget key's index.
      const cause = (error as Error).cause as { code?: unknown } | undefined;
      if (cause?.code === "23505") throw new WidgetKeyTakenError();
      throw error;
    }
  }

  async tenantByWidgetKey(
    key: string,
  ): Promise<{ tenant: string; settings: StoredTenantSettings } | null> {
    const rows = await this.#run(() =>
      this.#client.query<{ id: string; settings: StoredTenantSettings }>(
        `select id, settings from tenants where settings->'widget'->>'key' = $1`,
        [key],
      )
    );
    return rows[0] ? { tenant: rows[0].id, settings: rows[0].settings } : null;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  // Every driver failure becomes one retryable error type: the statement is
  // atomic, so nothing of it was written unless it returned.
  async #run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new StoreUnavailableError(`event store: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

function encodeCursor(createdAt: number, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replaceAll("=", "");
}

function decodeCursor(cursor: string): [number, string] {
  try {
    const value = JSON.parse(atob(cursor));
    if (
      Array.isArray(value) && value.length === 2 && Number.isFinite(value[0]) &&
      typeof value[1] === "string"
    ) return [value[0], value[1]];
  } catch {
    // fall through to the error below
  }
  throw new InvalidCursorError();
}

/** The list cursor was not one this store issued. */
export class InvalidCursorError extends Error {
  override name = "InvalidCursorError";
  constructor() {
    super("cursor is not valid");
  }
}
