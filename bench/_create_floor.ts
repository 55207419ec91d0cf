// The floor of the ticket-create scenario: the work a create needs and no
// more, in one bare `Deno.serve` process. It checks the bearer token, reads
// and validates the body with the edge's own helpers and schema, and
// inserts one row per create through the runtime's GroupCommitter (the
// same batching as a node: one statement per batch, many creates per
// statement) into a plain table on the same Postgres.
import postgres from "postgres";
import type { AppendRequest, EventStore } from "../cluster/store/event_store.ts";
import { GroupCommitter } from "../cluster/store/group_committer.ts";
import { bearerToken, verifyToken } from "../edge/auth/auth.ts";
import { readJsonObject } from "../edge/http/_body.ts";
import { errorResponse, HttpError, jsonResponse } from "../edge/http/_responses.ts";
import { validate } from "../edge/http/_validate.ts";
import { createTicketBody } from "../edge/http/schemas.ts";
import { newId } from "../edge/ids.ts";
import { DATABASE_URL } from "../tests/_support/services.ts";
import { type ListeningChild, spawnListening } from "./_child.ts";

/** Where the floor keeps its rows and which tokens it takes. */
export interface FloorSpec {
  /** Schema of its `floor_tickets` table, made by {@linkcode createFloorTable}. */
  schema: string;
  /** The HS256 secret of the tokens the load sends. */
  jwtSecret: string;
}

/** Create the floor's table in `schema`. */
export async function createFloorTable(sql: postgres.Sql, schema: string): Promise<void> {
  await sql.unsafe(`create schema ${schema}`);
  await sql.unsafe(`create table ${schema}.floor_tickets (
    tenant text not null,
    id text not null,
    doc jsonb not null,
    created_at bigint not null,
    primary key (tenant, id)
  )`);
}

/** Start the floor server; `await using` stops it. */
export function startFloor(spec: FloorSpec): Promise<ListeningChild> {
  return spawnListening(import.meta.filename!, [JSON.stringify(spec)]);
}

// Only appendBatch is used by the committer: one multi-row insert per batch.
function floorStore(sql: postgres.Sql): EventStore {
  const store: Pick<EventStore, "appendBatch"> = {
    async appendBatch(batch: AppendRequest[]) {
      const rows = batch.map(({ actorKey, events: [event] }) => {
        const [, tenant, id] = actorKey.split("/");
        return {
          tenant,
          id,
          doc: sql.json(event.data as postgres.JSONValue),
          created_at: event.at,
        };
      });
      await sql`insert into floor_tickets ${sql(rows)}`;
      return { conflicts: new Set<string>() };
    },
  };
  return store as EventStore;
}

function serve(spec: FloorSpec): void {
  const sql = postgres(DATABASE_URL, {
    max: 4,
    onnotice: () => {},
    connection: { search_path: spec.schema },
  });
  const committer = new GroupCommitter(floorStore(sql));
  Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    onListen: ({ port }) => console.log(JSON.stringify({ port })),
  }, async (request) => {
    try {
      const principal = await verifyToken(
        spec.jwtSecret,
        bearerToken(request.headers.get("authorization")),
      ).catch(() => {
        throw new HttpError(401, "unauthorized", "bad token");
      });
      const body = validate(createTicketBody, await readJsonObject(request));
      const at = Date.now();
      const id = newId(at);
      await committer.append({
        actorKey: `ticket/${principal.tenant}/${id}`,
        expectedSeq: 0,
        events: [{ seq: 1, type: "created", data: body, commandId: id, at }],
      });
      return jsonResponse(201, { id });
    } catch (error) {
      if (error instanceof HttpError) return errorResponse(error);
      return jsonResponse(503, { error: { code: "unavailable", message: String(error) } });
    }
  });
}

if (import.meta.main) serve(JSON.parse(Deno.args[0]));
