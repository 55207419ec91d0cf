// The protocol client the widget and the console share (edge/web/client),
// without a browser: against the real edge in-process, and against a fake
// socket for what a real edge does not do on demand (a gap).
import { assert, assertEquals } from "@std/assert";
import {
  type MessageFrame,
  ProtocolClient,
  type ServerFrame,
} from "../edge/web/client/protocol_client.ts";
import { backoffDelay } from "../edge/web/client/_backoff.ts";
import { type ApiServer, call, startApiServer } from "./_support/api_server.ts";
import { until } from "./_support/until.ts";

const widgetKey = "wk_client_0123456789abcdef";

/** Sockets the client opened, so a test can drop them as a network would. */
function recordingSocket(opened: WebSocket[], onSend?: (socket: WebSocket, data: string) => void) {
  return class extends WebSocket {
    constructor(url: string) {
      super(url);
      opened.push(this);
    }
    override send(data: string): void {
      super.send(data);
      onSend?.(this, data);
    }
  };
}

async function withServer(test: (server: ApiServer) => Promise<void>): Promise<void> {
  const server = await startApiServer({ heartbeatMs: 60_000 });
  try {
    const admin = await server.token({ sub: "root", role: "admin" });
    const saved = await call(`${server.url}/v1/admin/settings`, admin, "POST", {
      widget: { key: widgetKey },
    });
    assertEquals(saved.status, 200);
    await test(server);
  } finally {
    await server.close();
  }
}

async function bootstrap(server: ApiServer): Promise<{ token: string; conversationId: string }> {
  const session = await call(`${server.url}/v1/widget/sessions`, null, "POST", { widgetKey });
  assertEquals(session.status, 201);
  return session.body as { token: string; conversationId: string };
}

/** An agent online on the server, so that new chats wait for it rather than become tickets. */
async function onlineAgent(server: ApiServer): Promise<ProtocolClient> {
  const token = await server.token({ sub: "alice", role: "agent" });
  const agent = new ProtocolClient({ edges: [server.url], token: () => token });
  agent.connect();
  await opened(agent);
  return agent;
}

function messagesOf(client: ProtocolClient): MessageFrame[] {
  const seen: MessageFrame[] = [];
  client.on("msg", (frame) => seen.push(frame as unknown as MessageFrame));
  return seen;
}

function opened(client: ProtocolClient): Promise<void> {
  if (client.state === "open") return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.on("state", (frame) => {
      if (frame.state === "open") stop(), resolve();
    });
  });
}

Deno.test("web client: visitor and agent chat; a dropped visitor resumes with every message once, in order", async () => {
  await withServer(async (server) => {
    const agent = await onlineAgent(server);
    const { token, conversationId } = await bootstrap(server);
    const sockets: WebSocket[] = [];
    const visitor = new ProtocolClient({
      edges: [server.url],
      token: () => token,
      webSocket: recordingSocket(sockets),
      backoff: { baseMs: 20, maxMs: 50 },
    });
    const visitorSaw = messagesOf(visitor);
    const agentSaw = messagesOf(agent);
    try {
      visitor.watch(conversationId);
      visitor.connect();
      await opened(visitor);
      const first = await visitor.send(conversationId, "hello?");
      assertEquals(first.conversation, conversationId);
      await agent.command({ t: "claim", conversation: conversationId });
      await until(() => agentSaw.some((m) => m.body === "hello?"));

      sockets[0].close(); // the network drops; the agent writes on
      for (const body of ["one", "two", "three"]) await agent.send(conversationId, body);
      await until(() => visitorSaw.some((m) => m.body === "three"));
      assert(sockets.length >= 2, "the visitor reconnected");
      const bodies = visitorSaw.map((m) => m.body).filter((b) =>
        ["one", "two", "three"].includes(b)
      );
      assertEquals(bodies, ["one", "two", "three"]);
      const seqs = visitorSaw.map((m) => m.seq);
      assertEquals(seqs, [...new Set(seqs)].sort((a, b) => a - b), "no duplicate, in order");
      assertEquals(visitor.lastSeqs[conversationId], seqs.at(-1));
    } finally {
      visitor.close();
      agent.close();
    }
  });
});

Deno.test("web client: a send whose ack is lost is resent after the reconnect and lands once", async () => {
  await withServer(async (server) => {
    const agent = await onlineAgent(server);
    const { token, conversationId } = await bootstrap(server);
    const sockets: WebSocket[] = [];
    let dropped = false;
    // The first socket dies right after the send leaves: its ack never arrives.
    const visitor = new ProtocolClient({
      edges: [server.url],
      token: () => token,
      backoff: { baseMs: 20, maxMs: 50 },
      webSocket: recordingSocket(sockets, (socket, data) => {
        if (!dropped && JSON.parse(data).t === "send") {
          dropped = true;
          socket.close();
        }
      }),
    });
    const saw = messagesOf(visitor);
    try {
      visitor.watch(conversationId);
      visitor.connect();
      await opened(visitor);
      const ack = await visitor.send(conversationId, "only once", { clientMessageId: "cm-1" });
      assert(sockets.length >= 2, "the ack came on a second socket");
      await until(() => saw.some((m) => m.seq === ack.seq));
      assertEquals(saw.filter((m) => m.body === "only once").length, 1);
      const again = await visitor.send(conversationId, "only once", { clientMessageId: "cm-1" });
      assertEquals(again.seq, ack.seq, "a retry with the same id is the same message");
    } finally {
      visitor.close();
      agent.close();
    }
  });
});

Deno.test("web client: a dead edge is skipped for the next one, and an expired token is replaced", async () => {
  await withServer(async (server) => {
    const listener = Deno.listen({ port: 0, hostname: "127.0.0.1" });
    const dead = `http://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const reasons: string[] = [];
    const agent = new ProtocolClient({
      edges: [dead, server.url],
      backoff: { baseMs: 20, maxMs: 50 },
      token: async (reason) => {
        reasons.push(reason);
        // The first token lives one second: the edge closes with 4001 when it ends.
        return await server.token({ sub: "bob", role: "agent" }, reasons.length <= 2 ? 1 : 600);
      },
    });
    const welcomes: ServerFrame[] = [];
    agent.on("welcome", (frame) => welcomes.push(frame));
    try {
      agent.connect();
      await until(() => welcomes.length >= 2, 10_000);
      assertEquals(agent.edge, server.url);
      assert(reasons.includes("expired"), `asked for a fresh token: ${reasons}`);
    } finally {
      agent.close();
    }
  });
});

/** A socket that opens at once and lets the test play the server. */
class FakeSocket extends EventTarget {
  static last?: FakeSocket;
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor() {
    super();
    FakeSocket.last = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }
  close(): void {
    this.readyState = 3;
  }
  serve(frame: Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

Deno.test("web client: a gap is not shown but asked for again; duplicates are dropped", async () => {
  const client = new ProtocolClient({
    edges: ["http://edge.invalid"],
    token: () => "t",
    lastSeqs: { c1: 4 },
    webSocket: FakeSocket as unknown as new (url: string) => WebSocket,
  });
  const saw = messagesOf(client);
  client.connect();
  await until(() => FakeSocket.last?.sent.length === 1);
  const socket = FakeSocket.last!;
  assertEquals(socket.sent[0], { t: "hello", token: "t", resume: { c1: 4 } });
  socket.serve({ t: "welcome", sub: "v", role: "visitor", tenant: "x", heartbeatMs: 60_000 });
  const msg = (seq: number) => ({
    t: "msg",
    conversation: "c1",
    seq,
    kind: "text",
    body: `m${seq}`,
  });
  socket.serve(msg(4)); // seen before the reconnect
  socket.serve(msg(5));
  socket.serve(msg(7)); // 6 went missing
  socket.serve(msg(5));
  assertEquals(saw.map((m) => m.seq), [5]);
  assertEquals(socket.sent.at(-1), { t: "resume", conversations: { c1: 5 } });
  socket.serve(msg(6));
  socket.serve(msg(7));
  assertEquals(saw.map((m) => m.seq), [5, 6, 7]);
  client.close();
});

Deno.test("web client: backoff grows, is capped and jittered", () => {
  const backoff = { baseMs: 100, maxMs: 1000 };
  assertEquals(backoffDelay(backoff, 0, () => 0), 50);
  assertEquals(backoffDelay(backoff, 0, () => 1), 100);
  assertEquals(backoffDelay(backoff, 3, () => 1), 800);
  assertEquals(backoffDelay(backoff, 30, () => 1), 1000);
  assert(backoffDelay(backoff, 30, () => 0) >= 500);
});
