// A WebSocket client for tests: speaks JSON or MessagePack, records every
// frame, and waits for frames matching a predicate.
import { decode, encode } from "@msgpack/msgpack";

export type Frame = Record<string, unknown> & { t: string };

export class WsClient {
  readonly frames: Frame[] = [];
  /** When each of `frames` was received (`performance.now()`), by index. */
  readonly receivedAt: number[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Whether server pings are answered, as a live client does. */
  answerPings = true;
  #socket: WebSocket;
  #binary: boolean;
  #waiters: { test: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];

  private constructor(socket: WebSocket, binary: boolean) {
    this.#socket = socket;
    this.#binary = binary;
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const frame =
        (typeof event.data === "string"
          ? JSON.parse(event.data)
          : decode(new Uint8Array(event.data))) as Frame;
      if (frame.t === "ping" && this.answerPings) this.send({ t: "pong" });
      this.frames.push(frame);
      this.receivedAt.push(performance.now());
      for (const waiter of [...this.#waiters]) {
        if (waiter.test(frame)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(frame);
        }
      }
    };
    this.closed = new Promise((resolve) => {
      socket.onclose = (event) => resolve({ code: event.code, reason: event.reason });
    });
  }

  static async open(
    url: string,
    options: { binary?: boolean; protocols?: string[] } = {},
  ): Promise<WsClient> {
    const socket = new WebSocket(url.replace(/^http/, "ws") + "/v1/ws", options.protocols);
    const client = new WsClient(socket, options.binary ?? false);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("websocket failed to open")), {
        once: true,
      });
    });
    return client;
  }

  /** Open and say hello; resolves with the welcome frame. */
  static async hello(
    url: string,
    token: string,
    resume?: Record<string, number>,
    binary = false,
  ): Promise<WsClient> {
    const client = await WsClient.open(url, { binary });
    client.send({ t: "hello", token, ...(resume && { resume }) });
    await client.next((f) => f.t === "welcome");
    return client;
  }

  send(frame: Record<string, unknown>): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(this.#binary ? encode(frame) : JSON.stringify(frame));
  }

  raw(data: string | Uint8Array): void {
    this.#socket.send(data);
  }

  /** The first recorded or future frame that passes `test`. */
  next(test: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const seen = this.frames.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no matching frame within ${timeoutMs} ms; got ${
              JSON.stringify(this.frames.slice(-5))
            }`,
          ),
        );
      }, timeoutMs);
      const done = (frame: Frame) => {
        clearTimeout(timer);
        resolve(frame);
      };
      this.#waiters.push({ test, resolve: done });
    });
  }

  /** Send a command frame and wait for its ack or err. */
  async ask(frame: Record<string, unknown> & { id: string }, timeoutMs = 10_000): Promise<Frame> {
    this.send(frame);
    return await this.next((f) => (f.t === "ack" || f.t === "err") && f.id === frame.id, timeoutMs);
  }

  /** Messages received for a conversation, in arrival order. */
  messages(conversation: string): Frame[] {
    return this.frames.filter((f) => f.t === "msg" && f.conversation === conversation);
  }

  close(): Promise<{ code: number; reason: string }> {
    try {
      this.#socket.close(1000);
    } catch {
      // already closed
    }
    return this.closed;
  }
}
