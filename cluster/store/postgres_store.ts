/**
 * The event store on a real Postgres server, through npm:postgres.
 *
 * @module
 */
import postgres from "postgres";
import type { Query, SqlClient } from "./_sql_client.ts";
import { migrate, quoteIdentifier } from "./_migrate.ts";
import { SqlEventStore } from "./sql_event_store.ts";

/** Options of {@linkcode openPostgresStore}. */
export interface PostgresStoreOptions {
  url: string;
  /** Schema holding Switchboard's tables; created if missing. */
  schema: string;
  /** Connections in the pool. */
  max?: number;
  /**
   * Postgres `statement_timeout`: a statement running longer (a lock wait, a
   * stuck disk) is cancelled and fails retryably instead of stalling every
   * write behind it. 0 turns it off.
   *
   * @default {5000}
   */
  statementTimeoutMs?: number;
  /**
   * Postgres `idle_in_transaction_session_timeout`: a session idle inside an
   * open transaction this long is ended, releasing its locks.
   *
   * @default {10000}
   */
  idleInTransactionTimeoutMs?: number;
}

/** Connect, migrate, and return the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<SqlEventStore> {
  const sql = postgres(options.url, {
    max: options.max ?? 8,
    onnotice: () => {},
    connect_timeout: 5,
    connection: {
      search_path: quoteIdentifier(options.schema),
      application_name: "switchboard",
      statement_timeout: options.statementTimeoutMs ?? 5000,
      idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 10_000,
    },
    // int8 columns carry sequence numbers and epoch milliseconds, both safe as numbers.
    types: {
      int8: { to: 20, from: [20], serialize: (v: number) => String(v), parse: (v: string) => +v },
    },
  });
  // postgres.js types its parameters and rows for its tagged templates; these
  // statements are plain text with positional parameters.
  type Unsafe = (text: string, params: never[], options?: { prepare: boolean }) => Promise<unknown>;
  const over = (run: Unsafe): Query => async <T>(text: string, params: unknown[] = []) =>
    await run(text, params as never[], { prepare: true }) as T[];
  const client: SqlClient = {
    query: over(sql.unsafe.bind(sql) as Unsafe),
    transaction: async (work) =>
      await sql.begin((tx) => work(over(tx.unsafe.bind(tx) as Unsafe))) as Awaited<
        ReturnType<typeof work>
      >,
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
