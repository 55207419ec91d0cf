// The chat baseline: a Socket.IO server with the Redis adapter, run as two
// processes like Switchboard's two edges (or alone, without the adapter). A message is inserted into
// Postgres before it is relayed to its conversation's room and acknowledged,
// so an ack means stored, as in Switchboard.
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import postgres from "postgres";
import { Server } from "socket.io";
import { DATABASE_URL, REDIS_URL } from "../tests/_support/services.ts";
import { type ListeningChild, spawnListening } from "./_child.ts";
import type { SendReply } from "./_socketio_clients.ts";

/** Where one server process keeps its messages and meets the others. */
interface ServerSpec {
  /** Schema of the `messages` table. */
  schema: string;
  /**
   * Prefix of the adapter's Redis channels: it publishes and subscribes, and
   * stores no keys. Without one, no adapter: a lone server needs none.
   */
  channel?: string;
}

/** Running baseline servers; `await using` them to stop them. */
export interface SocketIoServers extends AsyncDisposable {
  urls: string[];
  pids: number[];
}

/** Create the baseline's table in `schema`. */
export async function createMessagesTable(sql: postgres.Sql, schema: string): Promise<void> {
  await sql.unsafe(`create schema ${schema}`);
  await sql.unsafe(`create table ${schema}.messages (
    conversation text not null,
    seq bigint generated always as identity primary key,
    body text not null,
    at bigint not null
  )`);
}

/** Start `count` server processes sharing `spec`'s table and channels. */
export async function startSocketIoServers(
  count: number,
  spec: ServerSpec,
): Promise<SocketIoServers> {
  await using stack = new AsyncDisposableStack();
  const servers: ListeningChild[] = [];
  for (let i = 0; i < count; i++) {
    servers.push(stack.use(await spawnListening(import.meta.filename!, [JSON.stringify(spec)])));
  }
  const owned = stack.move();
  return {
    urls: servers.map((server) => server.url),
    pids: servers.map((server) => server.pid),
    [Symbol.asyncDispose]: () => owned.disposeAsync(),
  };
}

function serve(spec: ServerSpec): void {
  const sql = postgres(DATABASE_URL, {
    max: 10,
    onnotice: () => {},
    connection: { search_path: spec.schema },
  });
  const pub = spec.channel ? new Redis(REDIS_URL) : undefined;
  const http = createServer();
  const io = new Server(http, {
    ...(pub && { adapter: createAdapter(pub, pub.duplicate(), { key: spec.channel }) }),
    transports: ["websocket"],
    serveClient: false,
  });
  io.on("connection", (socket) => {
    socket.on("join", (rooms: string[], ack: (joined: boolean) => void) => {
      socket.join(rooms);
      ack(true);
    });
    socket.on(
      "send",
      async (message: { conversation: string; body: string }, ack: (reply: SendReply) => void) => {
        const { conversation, body } = message;
        const at = Date.now();
        try {
          const [{ seq }] = await sql<{ seq: string }[]>`
            insert into messages (conversation, body, at) values (${conversation}, ${body}, ${at})
            returning seq`;
          io.to(conversation).emit("msg", { conversation, seq: Number(seq), body, at });
          ack({ seq: Number(seq) });
        } catch (error) {
          ack({ error: String(error) });
        }
      },
    );
  });
  http.listen(0, "127.0.0.1", () => {
    const { port } = http.address() as { port: number };
    console.log(JSON.stringify({ port }));
  });
}

if (import.meta.main) serve(JSON.parse(Deno.args[0]));
