// The plugins table of the SQL event store. Every change of one plugin's
// states runs in a transaction under an advisory lock on the plugin, so two
// admins activating at once queue instead of tripping the one-active index.
import type { PluginRecord } from "./event_store.ts";
import type { Query, SqlClient } from "./_sql_client.ts";

interface PluginRow {
  tenant: string;
  name: string;
  version: string;
  source: string;
  options: PluginRecord["options"];
  state: PluginRecord["state"];
  created_at: number | string;
  created_by: string;
  activated_at: number | string | null;
}

export async function selectPlugins(
  client: SqlClient,
  tenant: string,
  name: string | undefined,
): Promise<PluginRecord[]> {
  const rows = await client.query<PluginRow>(
    `select * from plugins where tenant = $1 and ($2::text is null or name = $2)
     order by name, created_at, version`,
    [tenant, name ?? null],
  );
  return rows.map(recordOf);
}

export async function selectLivePlugins(client: SqlClient): Promise<PluginRecord[]> {
  const rows = await client.query<PluginRow>(
    `select * from plugins where state in ('active', 'shadow') order by tenant, name, version`,
  );
  return rows.map(recordOf);
}

function recordOf(row: PluginRow): PluginRecord {
  return {
    tenant: row.tenant,
    name: row.name,
    version: row.version,
    source: row.source,
    options: row.options,
    state: row.state,
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    activatedAt: row.activated_at === null ? null : Number(row.activated_at),
  };
}

export function insertPlugin(
  client: SqlClient,
  record: Omit<PluginRecord, "activatedAt">,
): Promise<void> {
  return locked(client, record.tenant, record.name, async (query) => {
    if (record.state !== "inactive") await demote(query, record.tenant, record.name, record.state);
    await query(
      `insert into plugins
       (tenant, name, version, source, options, state, created_at, created_by, activated_at)
       values ($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9)`,
      [
        record.tenant,
        record.name,
        record.version,
        record.source,
        JSON.stringify(record.options),
        record.state,
        record.createdAt,
        record.createdBy,
        record.state === "active" ? record.createdAt : null,
      ],
    );
  });
}

export function activatePlugin(
  client: SqlClient,
  tenant: string,
  name: string,
  version: string,
  at: number,
): Promise<boolean> {
  return locked(client, tenant, name, async (query) => {
    const found = await query(
      `select 1 from plugins where tenant = $1 and name = $2 and version = $3`,
      [tenant, name, version],
    );
    if (found.length === 0) return false;
    await demote(query, tenant, name, "active");
    await query(
      `update plugins set state = 'active', activated_at = $4
       where tenant = $1 and name = $2 and version = $3`,
      [tenant, name, version, at],
    );
    return true;
  });
}

// The activation time stays as it was, so a second rollback steps further back.
export function rollbackPlugin(
  client: SqlClient,
  tenant: string,
  name: string,
): Promise<string | null> {
  return locked(client, tenant, name, async (query) => {
    const [previous] = await query<{ version: string }>(
      `select version from plugins
       where tenant = $1 and name = $2 and state <> 'active' and activated_at < (
         select activated_at from plugins where tenant = $1 and name = $2 and state = 'active'
       )
       order by activated_at desc limit 1`,
      [tenant, name],
    );
    if (!previous) return null;
    await demote(query, tenant, name, "active");
    await query(
      `update plugins set state = 'active' where tenant = $1 and name = $2 and version = $3`,
      [tenant, name, previous.version],
    );
    return previous.version;
  });
}

function locked<T>(
  client: SqlClient,
  tenant: string,
  name: string,
  work: (query: Query) => Promise<T>,
): Promise<T> {
  return client.transaction(async (query) => {
    await query(`select pg_advisory_xact_lock(hashtext('plugins'), hashtext($1))`, [
      `${tenant}\n${name}`,
    ]);
    return await work(query);
  });
}

function demote(query: Query, tenant: string, name: string, state: "active" | "shadow") {
  return query(
    `update plugins set state = 'inactive' where tenant = $1 and name = $2 and state = $3`,
    [tenant, name, state],
  );
}
