// Switchboard's side of the chat load: agents online first, one widget
// bootstrap per conversation, visitors on the edge their agent is not on,
// every conversation claimed over the agent's socket. JSON text frames.
import type { ChatClients, ChatHandlers } from "./_chat_clients.ts";
import { placement } from "./_chat_clients.ts";
import { pooled } from "./_pool.ts";

/** How to reach the cluster and who the agents are. */
export interface SwitchboardSetup {
  system: "switchboard";
  /** Base URLs of the edges. */
  edges: string[];
  widgetKey: string;
  /** One agent token per agent. */
  agentTokens: string[];
  conversations: number;
}

type Frame = Record<string, unknown> & { t: string };

// Presence reaches every edge over NATS; a conversation opened before its
// tenant has an agent online becomes a ticket at once.
const presenceSettleMs = 500;
const claimAttempts = 5;

/** Connect agents and visitors and claim every conversation. */
export async function connectSwitchboard(
  setup: SwitchboardSetup,
  handlers: ChatHandlers,
): Promise<ChatClients> {
  const { edges, agentTokens, conversations } = setup;
  const agents = await pooled(
    agentTokens,
    50,
    (token, a) =>
      Peer.hello(edges[a % edges.length], token, undefined, (frame) => {
        if (frame.t === "msg" && (frame.author as { role?: string })?.role === "visitor") {
          handlers.delivered(frame.body as string);
        }
      }),
  );
  const peers = [...agents];
  // Online without room, so the tenant's queue routes no conversation to
  // them (nor closes one for want of agents): each agent claims its own by
  // hand, on the edge its visitors are not on.
  for (const agent of agents) agent.send({ t: "status", status: "online", capacity: 0 });
  try {
    await new Promise((resolve) => setTimeout(resolve, presenceSettleMs));
    const indexes = Array.from({ length: conversations }, (_, i) => i);
    const places = indexes.map((i) => placement(i, agents.length, edges.length));
    const sessions = await pooled(
      indexes,
      20,
      (i) => bootstrap(edges[places[i].visitorServer], setup.widgetKey, `v${i}`),
    );
    const visitors = await pooled(indexes, 50, async (i) => {
      const { token, conversationId } = sessions[i];
      const visitor = await Peer.hello(
        edges[places[i].visitorServer],
        token,
        { [conversationId]: 0 },
        (frame) => {
          if (frame.t === "ack") handlers.acked(Number(frame.id));
          else if (frame.t === "err" && frame.id !== undefined) {
            handlers.refused(Number(frame.id), String(frame.code));
          }
        },
      );
      peers.push(visitor);
      return visitor;
    });
    await pooled(indexes, 50, async (i) => {
      const conversation = sessions[i].conversationId;
      // A loaded machine may answer a retryable refusal; the same id makes the retry safe.
      for (let attempt = 1;; attempt++) {
        const answer = await agents[places[i].agent].ask({
          t: "claim",
          id: `claim-${i}`,
          conversation,
        });
        if (answer.t === "ack") return;
        if (typeof answer.retryAfterMs !== "number" || attempt === claimAttempts) {
          throw new Error(`claim of ${conversation}: ${JSON.stringify(answer)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, answer.retryAfterMs as number));
      }
    });
    return {
      sockets: peers.length,
      send(i, id, body) {
        visitors[i].send({
          t: "send",
          id: String(id),
          conversation: sessions[i].conversationId,
          body,
        });
      },
      close: () => Promise.all(peers.map((peer) => peer.close())).then(() => {}),
    };
  } catch (error) {
    await Promise.all(peers.map((peer) => peer.close()));
    throw error;
  }
}

async function bootstrap(
  edge: string,
  widgetKey: string,
  visitorId: string,
): Promise<{ token: string; conversationId: string }> {
  const response = await fetch(`${edge}/v1/widget/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ widgetKey, visitorId }),
  });
  const body = await response.json();
  if (response.status !== 201) {
    throw new Error(`bootstrap: ${response.status} ${JSON.stringify(body)}`);
  }
  return body;
}

// One socket: answers the edge's pings, resolves the answers to `ask`, and
// hands every other frame to its listener.
class Peer {
  #socket: WebSocket;
  #listener: (frame: Frame) => void;
  #asked = new Map<string, (frame: Frame) => void>();
  #closed: Promise<void>;

  private constructor(socket: WebSocket, listener: (frame: Frame) => void) {
    this.#socket = socket;
    this.#listener = listener;
    this.#closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data) as Frame;
      if (frame.t === "ping") return this.send({ t: "pong" });
      const asked = typeof frame.id === "string" && this.#asked.get(frame.id);
      if (asked && (frame.t === "ack" || frame.t === "err")) {
        this.#asked.delete(frame.id as string);
        return asked(frame);
      }
      this.#listener(frame);
    };
  }

  /** Open a socket to `edge`, say hello, and resolve on the welcome. */
  static hello(
    edge: string,
    token: string,
    resume: Record<string, number> | undefined,
    listener: (frame: Frame) => void,
  ): Promise<Peer> {
    const socket = new WebSocket(`${edge.replace(/^http/, "ws")}/v1/ws`);
    return new Promise((resolve, reject) => {
      socket.onerror = () => reject(new Error(`socket to ${edge} failed`));
      socket.onclose = (event) => reject(new Error(`closed before welcome: ${event.code}`));
      socket.onopen = () => socket.send(JSON.stringify({ t: "hello", token, resume }));
      const peer = new Peer(socket, (frame) => {
        if (frame.t !== "welcome") return reject(new Error(`hello: ${JSON.stringify(frame)}`));
        socket.onclose = null;
        peer.#listener = listener;
        resolve(peer);
      });
    });
  }

  send(frame: Frame): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(frame));
  }

  /** Send a command and resolve with its ack or err. */
  ask(frame: Frame & { id: string }): Promise<Frame> {
    const answer = new Promise<Frame>((resolve) => this.#asked.set(frame.id, resolve));
    this.send(frame);
    return answer;
  }

  close(): Promise<void> {
    this.#socket.close(1000);
    return this.#closed;
  }
}
