/**
 * The event store on embedded PGlite, for standalone mode: the same schema and
 * queries as Postgres, in a directory on disk.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import type { Query, SqlClient } from "./_sql_client.ts";
import { migrate, quoteIdentifier } from "./_migrate.ts";
import { SqlEventStore } from "./sql_event_store.ts";

/** Open (creating if needed) a PGlite database in `dataDir`, migrate, return the store. */
export async function openPgliteStore(dataDir: string, schema: string): Promise<SqlEventStore> {
  const db = await PGlite.create(dataDir, { parsers: { 20: Number } });
  const run = (target: Pick<PGlite, "query">): Query => async (text, params = []) =>
    // deno-lint-ignore no-explicit-any
    (await target.query(text, params)).rows as any[];
  const client: SqlClient = {
    query: run(db),
    transaction: (work) => db.transaction((tx) => work(run(tx))),
    close: () => db.close(),
  };
  await migrate(client, schema);
  await db.exec(`set search_path to ${quoteIdentifier(schema)}`);
  return new SqlEventStore(client);
}
