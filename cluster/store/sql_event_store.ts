/**
 * The {@linkcode EventStore} over SQL, shared by the Postgres and PGlite
 * drivers.
 *
 * @module
 */
import type { StoredTenantSettings } from "../../actors/decider.ts";
import type { ActorError, Page, ProjectionQuery, StoredEvent } from "../protocol.ts";
import {
  type AppendRequest,
  type DeadLetter,
  type DueTimer,
  type EventStore,
  type IdempotencyRecord,
  type LoadedActor,
  type OutboxCursor,
  type OutboxEntry,
  type PluginRecord,
  PluginVersionTakenError,
  StoreDataError,
  StoreUnavailableError,
  type TicketCursor,
  type UnassignedTicket,
  WidgetKeyTakenError,
} from "./event_store.ts";
import type { SqlClient } from "./_sql_client.ts";
import { appendStatement } from "./_append_batch.ts";
import {
  deleteOutboxSql,
  idempotencySql,
  loadActorSql,
  pruneIdempotencySql,
} from "./_sql_schema.ts";
import {
  activatePlugin,
  insertPlugin,
  rollbackPlugin,
  selectLivePlugins,
  selectPlugins,
} from "./_plugin_rows.ts";
import { refusedData, uniqueViolation } from "./_sql_errors.ts";
import {
  idempotencyRecord,
  type IdempotencyRow,
  outboxColumns,
  outboxEntryOf,
  type OutboxRow,
} from "./_sql_rows.ts";
import { decodeCursor, encodeCursor } from "./list_cursor.ts";

interface LoadRow {
  part: "snapshot" | "event" | "command" | "timer";
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
    const { sql, params } = appendStatement(batch);
    const rows = await this.#run(
      () => this.#client.query<{ actor_key: string }>(sql, params),
      refusedData,
    );
    const written = new Set(rows.map((row) => row.actor_key));
    return { conflicts: new Set(batch.map((a) => a.actorKey).filter((k) => !written.has(k))) };
  }

  async load(actorKey: string, recentCommands: number): Promise<LoadedActor> {
    const rows = await this.#run(() =>
      this.#client.query<LoadRow>(loadActorSql, [actorKey, recentCommands])
    );
    const loaded: LoadedActor = { snapshot: null, events: [], idempotency: [], timers: [] };
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
      } else if (row.part === "command") {
        loaded.idempotency.push(idempotencyRecord({
          command_id: row.command_id!,
          fingerprint: row.name,
          outcome: row.data,
          created_at: seq,
        }));
      } else loaded.timers.push({ name: row.name!, at: seq });
    }
    loaded.events.sort((a, b) => a.seq - b.seq);
    loaded.idempotency.sort((a, b) => b.createdAt - a.createdAt);
    return loaded;
  }

  async idempotency(actorKey: string, commandIds: string[]): Promise<IdempotencyRecord[]> {
    if (commandIds.length === 0) return [];
    const rows = await this.#run(() =>
      this.#client.query<IdempotencyRow>(idempotencySql, [actorKey, JSON.stringify(commandIds)])
    );
    return rows.map(idempotencyRecord);
  }

  async pruneIdempotency(before: number, limit: number): Promise<number> {
    const rows = await this.#run(() =>
      this.#client.query<{ n: number }>(pruneIdempotencySql, [before, limit])
    );
    return Number(rows[0]?.n ?? 0);
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

  async dueTimers(until: number, limit: number, after?: DueTimer): Promise<DueTimer[]> {
    const params: unknown[] = [until, limit];
    const past = after ? "and (due_at, actor_key, name) > ($3, $4, $5)" : "";
    if (after) params.push(after.at, after.actorKey, after.name);
    const rows = await this.#run(() =>
      this.#client.query<{ actor_key: string; name: string; due_at: number | string }>(
        `select actor_key, name, due_at from timers where due_at <= $1 ${past}
         order by due_at, actor_key, name limit $2`,
        params,
      )
    );
    return rows.map((row) => ({ actorKey: row.actor_key, name: row.name, at: Number(row.due_at) }));
  }

  async pendingOutbox(until: number, limit: number, after?: OutboxCursor): Promise<OutboxEntry[]> {
    const params: unknown[] = [until, limit];
    const past = after ? "and (created_at, actor_key, seq, idx) > ($3, $4, $5, $6)" : "";
    if (after) params.push(after.createdAt, after.actorKey, after.seq, after.idx);
    const rows = await this.#run(() =>
      this.#client.query<OutboxRow>(
        `select ${outboxColumns} from outbox where created_at <= $1 ${past}
         order by created_at, actor_key, seq, idx limit $2`,
        params,
      )
    );
    return rows.map(outboxEntryOf);
  }

  async deadLetterOutbox(entry: OutboxCursor, error: ActorError, at: number): Promise<void> {
    await this.#run(() =>
      this.#client.query(
        `with moved as (
           delete from outbox where actor_key = $1 and seq = $2 and idx = $3
           returning ${outboxColumns}
         )
         insert into outbox_dead_letters (${outboxColumns}, failed_at, error)
         select ${outboxColumns}, $4, $5::text::jsonb from moved
         on conflict do nothing`,
        [entry.actorKey, entry.seq, entry.idx, at, JSON.stringify(error)],
      )
    );
  }

  async outboxDeadLetters(limit: number): Promise<DeadLetter[]> {
    const rows = await this.#run(() =>
      this.#client.query<OutboxRow & { failed_at: number | string; error: ActorError }>(
        `select ${outboxColumns}, failed_at, error from outbox_dead_letters
         order by failed_at desc, actor_key, seq, idx limit $1`,
        [limit],
      )
    );
    return rows.map((row) => ({
      ...outboxEntryOf(row),
      failedAt: Number(row.failed_at),
      error: row.error,
    }));
  }

  async deleteOutbox(entries: Pick<OutboxEntry, "actorKey" | "seq" | "idx">[]): Promise<void> {
    if (entries.length === 0) return;
    // One text parameter per column, as the append passes its batch.
    await this.#run(() =>
      this.#client.query(
        deleteOutboxSql,
        [
          JSON.stringify(entries.map((entry) => entry.actorKey)),
          `{${entries.map((entry) => entry.seq).join(",")}}`,
          `{${entries.map((entry) => entry.idx).join(",")}}`,
        ],
      )
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

  // Walks projections_status backwards: oldest first within one status.
  async unassignedTickets(
    tenant: string,
    limit: number,
    after?: TicketCursor,
  ): Promise<UnassignedTicket[]> {
    const params: unknown[] = [tenant, limit];
    const past = after ? "and (created_at, id) > ($3, $4)" : "";
    if (after) params.push(after.createdAt, after.id);
    const rows = await this.#run(() =>
      this.#client.query<{ id: string; created_at: number | string; doc: Record<string, unknown> }>(
        `select id, created_at, doc from projections
         where tenant = $1 and kind = 'ticket' and status = 'new' and assignee is null ${past}
         order by created_at, id limit $2`,
        params,
      )
    );
    return rows.map((row) => ({ id: row.id, createdAt: Number(row.created_at), doc: row.doc }));
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
      // The upsert cannot break the primary key, so a unique violation is the
      // widget key's index.
      if (uniqueViolation(error)) throw new WidgetKeyTakenError();
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

  plugins(tenant: string, name?: string): Promise<PluginRecord[]> {
    return this.#run(() => selectPlugins(this.#client, tenant, name));
  }

  livePlugins(): Promise<PluginRecord[]> {
    return this.#run(() => selectLivePlugins(this.#client));
  }

  async addPlugin(record: Omit<PluginRecord, "activatedAt">): Promise<void> {
    try {
      await this.#run(() => insertPlugin(this.#client, record));
    } catch (error) {
      // Under the plugin's lock the role indexes hold, so a unique violation
      // is the version's primary key.
      if (uniqueViolation(error)) throw new PluginVersionTakenError(record.name, record.version);
      throw error;
    }
  }

  activatePlugin(tenant: string, name: string, version: string, at: number): Promise<boolean> {
    return this.#run(() => activatePlugin(this.#client, tenant, name, version, at));
  }

  rollbackPlugin(tenant: string, name: string): Promise<string | null> {
    return this.#run(() => rollbackPlugin(this.#client, tenant, name));
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  // Every driver failure becomes one retryable error type: the statement is
  // atomic, so nothing of it was written unless it returned. Appends tell
  // apart a refusal of their data, which the committer isolates.
  async #run<T>(
    work: () => Promise<T>,
    isData: (error: unknown) => boolean = () => false,
  ): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const Failure = isData(error) ? StoreDataError : StoreUnavailableError;
      throw new Failure(`event store: ${(error as Error).message}`, { cause: error });
    }
  }
}
