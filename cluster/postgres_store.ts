/**
 * The event store on a real Postgres server, through npm:postgres.
 *
 * @module
 */
import postgres from "postgres";
import type { Query, SqlClient } from "./_sql_client.ts";
import { migrate, SqlEventStore } from "./sql_event_store.ts";

/** Options of {@linkcode openPostgresStore}. */
export interface PostgresStoreOptions {
  url: string;
  /** Schema holding Switchboard's tables; created if missing. */
  schema: string;
  /** Connections in the pool. */
  max?: number;
}

/** Connect, migrate, and return the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<SqlEventStore> {
  const sql = postgres(options.url, {
    max: options.max ?? 8,
    onnotice: () => {},
    connect_timeout: 5,
    connection: { search_path: options.schema, application_name: "switchboard" },
    // int8 columns carry sequence numbers and epoch milliseconds, both safe as numbers.
    types: {
      int8: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => +v },
    },
  });
  const query: Query = async (text, params = []) =>
    // deno-lint-ignore no-explicit-any
    await sql.unsafe(text, params as any[], { prepare: true }) as any;
  const client: SqlClient = {
    query,
    transaction: async (work) =>
      // deno-lint-ignore no-explicit-any
      await sql.begin((tx) => work(async (text, params = []) => await tx.unsafe(text, params as any[]) as any)) as any,
    close: () => sql.end({ timeout: 5 }),
  };
  try {
    await migrate(client, options.schema);
  } catch (error) {
    await client.close();
    throw error;
  }
  return new SqlEventStore(client);
}
