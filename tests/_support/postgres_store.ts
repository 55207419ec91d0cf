// An event store on Postgres in a schema of the test's own.
import {
  openPostgresStore,
  type PostgresStoreOptions,
} from "../../cluster/store/postgres_store.ts";
import type { SqlEventStore } from "../../cluster/store/sql_event_store.ts";
import { DATABASE_URL, dropSchema, uniqueName } from "./services.ts";

/**
 * Run `work` on a store in a new schema (of the shared Postgres unless
 * `options.url` names another), dropped afterwards.
 */
export async function withPostgresStore(
  work: (store: SqlEventStore, schema: string) => Promise<void>,
  options: Partial<PostgresStoreOptions> = {},
): Promise<void> {
  const schema = uniqueName("sb_test");
  const url = options.url ?? DATABASE_URL;
  const store = await openPostgresStore({ max: 2, ...options, url, schema });
  try {
    await work(store, schema);
  } finally {
    await store.close();
    if (url === DATABASE_URL) await dropSchema(schema);
  }
}
