/**
 * The WebSocket protocol (`/v1/ws`, README "WebSocket protocol") as the
 * widget and the console speak it: connect and `hello`, `resume` with the
 * last seq of every watched conversation, reconnect with backoff and jitter
 * (across the edges it is given), drop duplicates and ask again on a gap,
 * and commands that are retried with the same id until answered, so a
 * retry never acts twice. Runs in browsers and in Deno alike.
 *
 * @module
 */
import { type Backoff, backoffDelay } from "./_backoff.ts";

/** A frame from the server (README: server → client). */
export type ServerFrame = Record<string, unknown> & { t: string };

/** A `msg` frame. */
export interface MessageFrame {
  t: "msg";
  conversation: string;
  seq: number;
  kind: string;
  author: { sub: string; role: string } | null;
  body: string;
  at: number;
  clientMessageId?: string;
}

/** The answer to a command: the conversation's seq after it. */
export interface Ack {
  id: string;
  conversation: string;
  seq: number;
}

/** What an offer is for: a chat or a ticket (README: `offer` frames). */
export type OfferedItem = { conversation: string } | { ticket: string };

/**
 * A command frame: one about a conversation (`claim`, `transfer`, `close`,
 * `resolve`, `rate`, `send`), or the answer to an offer, which may name a
 * ticket instead.
 */
export type CommandFrame =
  & Record<string, unknown>
  & ({ t: string; conversation: string } | ({ t: "accept" | "decline" } & OfferedItem));

/** A command the server refused for good. */
export class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "CommandError";
    this.code = code;
  }
}

/** The connection's state, as `state` events tell it. */
export type ConnectionState = "connecting" | "open" | "offline" | "closed";

/** Why a token is asked for: the first connect, or the last one was refused or expired. */
export type TokenReason = "connect" | "expired";

/** Options of {@linkcode ProtocolClient}. */
export interface ProtocolClientOptions {
  /** Base URLs of the edges (`http(s)://host:port`), tried in turn after failures. */
  edges: string[];
  /** The bearer token for the next connect. */
  token(reason: TokenReason): string | Promise<string>;
  /** The last seq seen per conversation (e.g. kept in storage), resumed from on connect. */
  lastSeqs?: Record<string, number>;
  backoff?: Partial<Backoff>;
  /** The WebSocket constructor; the global one by default. */
  webSocket?: new (url: string) => WebSocket;
  random?: () => number;
}

type Listener = (frame: ServerFrame) => void;

interface PendingCommand {
  frame: Record<string, unknown> & { id: string };
  promise: Promise<Ack>;
  resolve(ack: Ack): void;
  reject(error: Error): void;
  timer?: ReturnType<typeof setTimeout>;
}

/** Close codes after which the token must be replaced before reconnecting. */
const tokenCloses = new Set([1008, 4001]);
/** Error codes a command is sent again for, after `retryAfterMs`. */
const retryableCodes = new Set([
  "rate_limited",
  "unavailable",
  "timeout",
  "overloaded",
  "internal",
]);

/** A reconnecting protocol client; `on(type, fn)` for frames, `state` for the connection. */
export class ProtocolClient {
  #options: ProtocolClientOptions;
  #backoff: Backoff;
  #socket?: WebSocket;
  #state: ConnectionState = "closed";
  #attempt = 0;
  #edge = 0;
  #lastSeqs = new Map<string, number>();
  #pending = new Map<string, PendingCommand>();
  #listeners = new Map<string, Set<Listener>>();
  #reconnect?: ReturnType<typeof setTimeout>;
  #heartbeat?: ReturnType<typeof setInterval>;
  #heartbeatMs = 15_000;
  #lastHeard = 0;
  #tokenReason: TokenReason = "connect";
  #rewinding = new Set<string>();
  #stopped = true;

  constructor(options: ProtocolClientOptions) {
    this.#options = options;
    this.#backoff = { baseMs: 250, maxMs: 10_000, ...options.backoff };
    for (const [conversation, seq] of Object.entries(options.lastSeqs ?? {})) {
      this.#lastSeqs.set(conversation, seq);
    }
  }

  /** The connection's state. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** The edge base URL in use (or tried next). */
  get edge(): string {
    return this.#options.edges[this.#edge % this.#options.edges.length];
  }

  /** The highest seq seen per conversation: what to keep for a later resume. */
  get lastSeqs(): Record<string, number> {
    return Object.fromEntries(this.#lastSeqs);
  }

  /** Listen to frames of `type` (`msg` frames come deduplicated and in order), or `state`. */
  on(type: string, listener: Listener): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Start connecting (and keep reconnecting until {@linkcode close}). */
  connect(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#open();
  }

  /** Stop for good; pending commands are refused. */
  close(): void {
    this.#stopped = true;
    clearTimeout(this.#reconnect);
    this.#socket?.close(1000, "client closed");
    this.#socket = undefined;
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new CommandError("closed", "the client was closed"));
    }
    this.#pending.clear();
    this.#setState("closed");
  }

  /** Watch a conversation from `after` (its last seq seen, by default the one kept). */
  watch(conversation: string, after?: number): void {
    const known = this.#lastSeqs.get(conversation);
    const from = after ?? known ?? 0;
    if (known === undefined || after !== undefined) this.#lastSeqs.set(conversation, from);
    this.#write({ t: "resume", conversations: { [conversation]: from } });
  }

  /** Forget a conversation's seq (it will not be resumed). */
  forget(conversation: string): void {
    this.#lastSeqs.delete(conversation);
  }

  /**
   * Send a message; `clientMessageId` (new by default) makes every retry,
   * after reconnects too, the same message.
   */
  send(
    conversation: string,
    body: string,
    options: { kind?: "text" | "note"; clientMessageId?: string } = {},
  ): Promise<Ack> {
    const clientMessageId = options.clientMessageId ?? crypto.randomUUID();
    return this.command({
      t: "send",
      id: clientMessageId,
      conversation,
      body,
      clientMessageId,
      ...(options.kind && { kind: options.kind }),
    });
  }

  /**
   * A command frame: sent now or once connected, resent with the same id
   * after a reconnect or a retryable refusal, resolved by its `ack`.
   */
  command(frame: CommandFrame): Promise<Ack> {
    const id = typeof frame.id === "string" ? frame.id : crypto.randomUUID();
    const existing = this.#pending.get(id);
    if (existing) return existing.promise;
    const { promise, resolve, reject } = Promise.withResolvers<Ack>();
    this.#pending.set(id, { frame: { ...frame, id }, promise, resolve, reject });
    this.#write({ ...frame, id });
    return promise;
  }

  /** Tell the others in a conversation that this side types (not stored, not retried). */
  typing(conversation: string, on: boolean): void {
    this.#write({ t: "typing", conversation, on });
  }

  /** Tell that everything up to `seq` was seen. */
  read(conversation: string, seq: number): void {
    this.#write({ t: "read", conversation, seq });
  }

  /** An agent's availability. */
  status(status: "online" | "away" | "offline", capacity?: number): void {
    this.#write({ t: "status", status, ...(capacity !== undefined && { capacity }) });
  }

  /** Send a frame if connected; false when it was not. */
  #write(frame: Record<string, unknown>): boolean {
    if (this.#state !== "open" || this.#socket?.readyState !== 1) return false;
    this.#socket.send(JSON.stringify(frame));
    return true;
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    this.#setState("connecting");
    let token: string;
    try {
      token = await this.#options.token(this.#tokenReason);
    } catch {
      return this.#retry();
    }
    if (this.#stopped) return;
    const Socket = this.#options.webSocket ?? WebSocket;
    const url = this.edge.replace(/^http/, "ws").replace(/\/$/, "") + "/v1/ws";
    let socket: WebSocket;
    try {
      socket = new Socket(url);
    } catch {
      return this.#retry();
    }
    this.#socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify({ t: "hello", token, resume: this.lastSeqs }));
    };
    socket.onmessage = (event) => {
      // A socket being closed is gone: what it still brings is redelivered on the next.
      if (socket !== this.#socket || socket.readyState !== 1 || typeof event.data !== "string") {
        return;
      }
      this.#receive(JSON.parse(event.data) as ServerFrame);
    };
    socket.onclose = (event) => {
      if (socket !== this.#socket) return;
      this.#socket = undefined;
      clearInterval(this.#heartbeat);
      this.#tokenReason = tokenCloses.has(event.code) ? "expired" : "connect";
      if (!this.#stopped) this.#retry();
    };
  }

  #retry(): void {
    this.#setState("offline");
    const attempt = this.#attempt++;
    // Each failure moves to the next edge: one that died is not tried twice in a row.
    this.#edge++;
    const delay = backoffDelay(this.#backoff, attempt, this.#options.random ?? Math.random);
    this.#reconnect = setTimeout(() => this.#open(), delay);
  }

  #receive(frame: ServerFrame): void {
    this.#lastHeard = Date.now();
    switch (frame.t) {
      case "welcome":
        return this.#welcome(frame);
      case "ping":
        this.#write({ t: "pong", ...(frame.id !== undefined && { id: frame.id }) });
        return;
      case "msg":
        if (!this.#accept(frame as unknown as MessageFrame)) return;
        break;
      case "ack":
        this.#settle(frame.id as string, (pending) => pending.resolve(frame as unknown as Ack));
        break;
      case "err":
        if (this.#refused(frame)) return;
        break;
    }
    this.#emit(frame.t, frame);
  }

  #welcome(frame: ServerFrame): void {
    this.#attempt = 0;
    this.#tokenReason = "connect";
    this.#heartbeatMs = Number(frame.heartbeatMs) || this.#heartbeatMs;
    this.#setState("open");
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
    for (const pending of this.#pending.values()) this.#write(pending.frame);
    this.#emit("welcome", frame);
  }

  // A silent server is a dead one: ping it, and give up the socket after two beats.
  #beat(): void {
    const silent = Date.now() - this.#lastHeard;
    if (silent > 2 * this.#heartbeatMs) this.#socket?.close(4008, "server silent");
    else if (silent >= this.#heartbeatMs) this.#write({ t: "ping" });
  }

  /** Whether a message is the next of its conversation; a gap asks the edge again. */
  #accept(message: MessageFrame): boolean {
    const last = this.#lastSeqs.get(message.conversation) ?? 0;
    if (message.seq <= last) return false;
    if (message.seq > last + 1) {
      // The edge redelivers from our point when asked to resume a watched conversation.
      if (!this.#rewinding.has(message.conversation)) {
        this.#rewinding.add(message.conversation);
        this.#write({ t: "resume", conversations: { [message.conversation]: last } });
      }
      return false;
    }
    this.#rewinding.delete(message.conversation);
    this.#lastSeqs.set(message.conversation, message.seq);
    return true;
  }

  /** Settle a command refused by the server; true when it is retried instead. */
  #refused(frame: ServerFrame): boolean {
    const id = frame.id as string | undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (!pending) return false;
    if (retryableCodes.has(frame.code as string)) {
      clearTimeout(pending.timer);
      pending.timer = setTimeout(
        () => this.#write(pending.frame),
        Number(frame.retryAfterMs) || 1000,
      );
      return true;
    }
    this.#settle(
      id!,
      (it) => it.reject(new CommandError(frame.code as string, frame.message as string)),
    );
    return false;
  }

  #settle(id: string, settle: (pending: PendingCommand) => void): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.#pending.delete(id);
    settle(pending);
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#emit("state", { t: "state", state });
  }

  #emit(type: string, frame: ServerFrame): void {
    for (const listener of this.#listeners.get(type) ?? []) listener(frame);
  }
}
