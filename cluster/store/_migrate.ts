// Setting up the store's schema: its pending migrations, applied once however
// many processes start at once, and its name quoted for the statements that
// name it.
import type { SqlClient } from "./_sql_client.ts";
import { migrations } from "./_sql_schema.ts";

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
