// The Socket.IO baseline's side of the chat load: the same agents and
// visitors, placed on the two servers as on Switchboard's two edges, each
// in the room of its conversations.
import { io, type Socket } from "socket.io-client";
import type { ChatClients, ChatHandlers } from "./_chat_clients.ts";
import { placement } from "./_chat_clients.ts";
import { pooled } from "./_pool.ts";

/** Where the servers are and how many of each side to connect. */
export interface SocketIoSetup {
  system: "socket.io";
  /** Base URLs of the servers. */
  servers: string[];
  agents: number;
  conversations: number;
}

/** The baseline's answer to `send`. */
export type SendReply = { seq: number } | { error: string };

/** Connect agents and visitors, each joined to its conversations' rooms. */
export async function connectSocketIo(
  setup: SocketIoSetup,
  handlers: ChatHandlers,
): Promise<ChatClients> {
  const { servers, conversations } = setup;
  const indexes = Array.from({ length: conversations }, (_, i) => i);
  const places = indexes.map((i) => placement(i, setup.agents, servers.length));
  const sockets: Socket[] = [];
  try {
    const agentIndexes = Array.from({ length: setup.agents }, (_, a) => a);
    await pooled(agentIndexes, 50, async (a) => {
      const agent = await connect(servers[a % servers.length], sockets);
      agent.on("msg", (message: { body: string }) => handlers.delivered(message.body));
      await agent.emitWithAck("join", indexes.filter((i) => places[i].agent === a).map(room));
    });
    const visitors = await pooled(indexes, 50, async (i) => {
      const visitor = await connect(servers[places[i].visitorServer], sockets);
      await visitor.emitWithAck("join", [room(i)]);
      return visitor;
    });
    return {
      sockets: sockets.length,
      send(i, id, body) {
        visitors[i].emit("send", { conversation: room(i), body }, (reply: SendReply) => {
          if ("seq" in reply) handlers.acked(id);
          else handlers.refused(id, reply.error);
        });
      },
      close() {
        for (const socket of sockets) socket.close();
        return Promise.resolve();
      },
    };
  } catch (error) {
    for (const socket of sockets) socket.close();
    throw error;
  }
}

function room(conversation: number): string {
  return `c${conversation}`;
}

// WebSocket only, as Switchboard's clients: no long-polling handshake, no reconnects.
function connect(url: string, sockets: Socket[]): Promise<Socket> {
  const socket = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}
