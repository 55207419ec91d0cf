/**
 * One WebSocket of a visitor or an agent: authentication, validation and
 * rate limits of every frame, heartbeats and token expiry, and the writes
 * to the socket. What it watches and the status changes it is told are
 * `_subscriptions.ts`'s; commands are run by `_commands.ts`.
 *
 * @module
 */
import type { ActorRequest } from "../../cluster/protocol.ts";
import { AuthError, type Principal, verifyToken } from "../auth/auth.ts";
import { type Bucket, takeToken } from "../limits/rate_limit.ts";
import { type ClientFrame, decodeFrame, encodeFrame, type ServerFrame } from "./frames.ts";
import type { MessageData, Numbering, StreamPort } from "./conversation_stream.ts";
import { isCommand, runCommand } from "./_commands.ts";
import { relaySignal, type TypingSent } from "./_relay.ts";
import type { ConnectionContext, ErrorContent, SocketSession } from "./_session.ts";
import type { StatusReport } from "./availability.ts";
import { answerOffer } from "./_offers.ts";
import { messageFrame } from "./_message_frames.ts";
import type { PendingSocket } from "./pending_hellos.ts";
import { Subscriptions } from "./_subscriptions.ts";

export type { ConnectionContext } from "./_session.ts";

/** A served socket, as the edge's one timer sees it. */
export interface LiveConnection extends PendingSocket {
  /** Enforce the hello deadline, token expiry and heartbeats; called about every second. */
  tick(now: number): void;
}

/** Serve one accepted WebSocket until it closes. */
export function serveConnection(
  socket: WebSocket,
  ctx: ConnectionContext,
  principal?: Principal,
  origin: string | null = null,
): LiveConnection {
  return new Connection(socket, ctx, principal, origin);
}

// Idle sockets are most of an edge's sockets, and most of those are visitors
// who never open a chat, so a connection keeps little: no timers of its own
// (the edge ticks them all), its subscriptions only once it watches (an
// agent's from its hello), and its rate limit as one small bucket. Its
// helpers reach it through the interfaces it implements.
class Connection implements LiveConnection, SocketSession, StreamPort {
  #socket: WebSocket;
  #ctx: ConnectionContext;
  #principal?: Principal;
  #binary = false;
  #subscriptions?: Subscriptions;
  #budget: Bucket;
  #openedAt: number;
  #lastHeard: number;
  #lastPinged: number;
  #typingSent?: TypingSent;
  #closed = false;
  #preAuthenticated?: Principal;
  /** The `Origin` of the page that opened the socket. */
  #origin: string | null;

  constructor(
    socket: WebSocket,
    ctx: ConnectionContext,
    principal: Principal | undefined,
    origin: string | null,
  ) {
    this.#socket = socket;
    this.#origin = origin;
    this.#ctx = ctx;
    this.#openedAt = this.#lastHeard = this.#lastPinged = Date.now();
    this.#budget = { tokens: ctx.connectionRate.burst, at: this.#openedAt };
    this.#preAuthenticated = principal;
    socket.binaryType = "arraybuffer";
    // An error is followed by a close, which is all this needs of it.
    socket.addEventListener("message", this);
    socket.addEventListener("close", this);
    if (principal) socket.addEventListener("open", this);
  }

  get ctx(): ConnectionContext {
    return this.#ctx;
  }

  get numbering(): Numbering {
    return this.#principal?.role === "visitor" ? "publicSeq" : "seq";
  }

  get backlog(): number {
    return this.#socket.bufferedAmount;
  }

  get open(): boolean {
    return !this.#closed;
  }

  get pending(): boolean {
    return !this.#principal && !this.#closed;
  }

  get highWater(): number {
    return this.#ctx.maxBufferedBytes / 2;
  }

  get stallMs(): number {
    return this.#ctx.stallMs;
  }

  /** The socket's events, through one listener object rather than four closures. */
  handleEvent(event: Event): void {
    if (event.type === "message") this.#receive((event as MessageEvent).data);
    else if (event.type === "close") this.#teardown((event as CloseEvent).code);
    else if (event.type === "open" && this.#preAuthenticated) {
      this.#authenticated(this.#preAuthenticated, undefined);
      this.#preAuthenticated = undefined;
    }
  }

  tick(now: number): void {
    if (this.#closed) return;
    if (!this.#principal) {
      if (now - this.#openedAt > this.#ctx.helloTimeoutMs) {
        this.#close(1008, "hello with a token expected");
      }
      return;
    }
    // A socket lives no longer than the token it was opened with: the client
    // reconnects with a fresh one and resumes.
    if (now >= this.#principal.exp * 1000) return this.#close(4001, "token expired");
    if (now - this.#lastHeard > 2 * this.#ctx.heartbeatMs) {
      return this.#close(4008, "heartbeat timeout");
    }
    if (now - this.#lastPinged >= this.#ctx.heartbeatMs) {
      this.#lastPinged = now;
      this.send({ t: "ping" });
    }
  }

  #receive(data: string | ArrayBuffer): void {
    this.#lastHeard = Date.now();
    this.#binary = typeof data !== "string";
    const decoded = decodeFrame(typeof data === "string" ? data : new Uint8Array(data));
    if (!decoded.ok) {
      if (decoded.close) return this.#close(decoded.close, decoded.reason);
      return this.error(decoded.error);
    }
    const frame = decoded.frame;
    this.#ctx.observe.frame(frame.t);
    const { ratePerSecond, burst } = this.#ctx.connectionRate;
    const retryAfterMs = takeToken(this.#budget, Date.now(), ratePerSecond, burst);
    if (retryAfterMs > 0) {
      return this.error({
        id: "id" in frame ? frame.id : undefined,
        code: "rate_limited",
        message: "too many frames on this connection",
        retryAfterMs,
      });
    }
    this.#handle(frame).catch((error) => {
      this.#ctx.log.error("frame failed", { frame: frame.t, error: String(error) });
      this.error({
        id: "id" in frame ? frame.id : undefined,
        code: "internal",
        message: "internal error",
      });
    });
  }

  async #handle(frame: ClientFrame): Promise<void> {
    if (frame.t === "hello") return await this.#hello(frame);
    const principal = this.#principal;
    if (!principal) {
      this.error({ code: "unauthorized", message: "send hello with a token first" });
      return this.#close(1008, "not authenticated");
    }
    switch (frame.t) {
      case "ping":
        return this.send({ t: "pong", ...(frame.id && { id: frame.id }) });
      case "pong":
        return;
      case "resume":
        return await this.#subscribed().resume(frame.conversations);
      case "typing":
      case "read":
        return relaySignal(this, frame, principal, () => this.#typingSent ??= new Map());
      case "status":
        if (principal.role === "visitor") {
          return this.error({ code: "forbidden", message: "only agents have a status" });
        }
        // The schema may carry skills, languages and teams; what it carries is passed on.
        this.#ctx.availability.status(principal.tenant, principal.sub, frame as StatusReport);
        return this.#ctx.presence.set(principal.tenant, principal.sub, frame.status, {
          capacity: frame.capacity,
          skills: frame.skills,
          languages: frame.languages,
          teams: frame.teams,
        });
    }
    if (frame.t === "accept" || frame.t === "decline") {
      return await answerOffer(this, frame, principal);
    }
    if (isCommand(frame)) return await runCommand(this, frame, principal);
  }

  async #hello(frame: Extract<ClientFrame, { t: "hello" }>): Promise<void> {
    if (this.#principal) {
      return this.error({ code: "invalid_frame", message: "already authenticated; use resume" });
    }
    let principal;
    try {
      principal = await verifyToken(this.#ctx.jwtSecret, frame.token ?? "");
    } catch (error) {
      const message = error instanceof AuthError ? error.message : "invalid token";
      this.error({ code: "unauthorized", message });
      return this.#close(1008, "unauthorized");
    }
    // A visitor token works only from the pages the tenant lets embed its widget.
    if (
      principal.role === "visitor" &&
      !await this.#ctx.widgetOriginAllowed(principal.tenant, this.#origin)
    ) {
      this.error({
        code: "origin_not_allowed",
        message: `the widget is not allowed on ${this.#origin}`,
      });
      return this.#close(1008, "origin not allowed");
    }
    this.#authenticated(principal, frame.resume);
  }

  #authenticated(principal: Principal, resume: Record<string, number> | undefined): void {
    if (this.#closed) return;
    this.#principal = principal;
    this.#ctx.observe.socket(principal.role, 1);
    this.#ctx.presence.open(principal.tenant);
    if (principal.role === "visitor") {
      this.#welcome(principal);
      if (resume) this.#subscribed().resume(resume).catch(() => {});
      return;
    }
    this.#subscribed().followTenant();
    this.#ctx.presence.connect(principal.tenant, principal.sub);
    this.#ctx.availability.connected(principal.tenant, principal.sub);
    this.#welcomeAgent(principal, resume).catch(() => {});
  }

  #subscribed(): Subscriptions {
    return this.#subscriptions ??= new Subscriptions(this, this.#principal!);
  }

  #welcome(principal: Principal, unread?: Record<string, number>): void {
    this.send({
      t: "welcome",
      sub: principal.sub,
      role: principal.role,
      tenant: principal.tenant,
      heartbeatMs: this.#ctx.heartbeatMs,
      ...(unread && { unread }),
    });
  }

  // An agent is welcomed with its unread counts, then follows the
  // conversations assigned to it, wherever they were assigned.
  async #welcomeAgent(
    principal: Principal,
    resume: Record<string, number> | undefined,
  ): Promise<void> {
    const page = await this.#ctx.backend.list({
      kind: "session",
      tenant: principal.tenant,
      assignee: principal.sub,
      status: "assigned",
      limit: 200,
    }).catch(() => ({ items: [] as Record<string, unknown>[] }));
    if (this.#closed) return;
    this.#welcome(principal, this.#subscribed().welcome(page.items));
    if (resume) await this.#subscribed().resume(resume).catch(() => {});
    for (const doc of page.items) await this.follow(doc.id as string);
  }

  watching(conversation: string): boolean {
    return this.#subscriptions?.watching(conversation) ?? false;
  }

  follow(conversation: string): Promise<void> {
    return this.#subscribed().follow(conversation);
  }

  history(
    conversation: string,
    numbering: Numbering,
    after: number,
    limit: number,
  ): ReturnType<StreamPort["history"]> {
    const address = { kind: "session", tenant: this.#principal!.tenant, id: conversation };
    return this.#ctx.backend.messages(address, numbering, after, limit);
  }

  deliver(conversation: string, seq: number, data: MessageData): void {
    this.#subscriptions?.delivered(conversation, seq, data.author);
    this.#write(messageFrame(conversation, seq, data, this.#binary));
  }

  stalled(): void {
    this.#close(1013, "slow consumer: reconnect and resume");
  }

  failed(conversation: string, error: unknown): void {
    this.#ctx.log.warn("backfill failed", { conversation, error: String(error) });
  }

  request(
    conversation: string,
    op: "read" | "command",
    commandId: string = crypto.randomUUID(),
  ): ActorRequest {
    return {
      address: { kind: "session", tenant: this.#principal!.tenant, id: conversation },
      op,
      commandId,
      deadline: Date.now() + this.#ctx.requestTimeoutMs,
    };
  }

  send(frame: ServerFrame): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#write(encodeFrame(frame, this.#binary));
  }

  #write(encoded: string | Uint8Array): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(encoded);
    if (this.#socket.bufferedAmount > this.#ctx.maxBufferedBytes) {
      this.#close(1013, "slow consumer: reconnect and resume");
    }
  }

  error(error: ErrorContent): void {
    this.#ctx.observe.error(error.code);
    const { id, ...rest } = error;
    this.send({ t: "err", ...(id && { id }), ...rest });
  }

  #close(code: number, reason: string): void {
    if (this.#closed) return;
    try {
      this.#socket.close(code, reason);
    } catch {
      // already closing
    }
    this.#teardown(code);
  }

  #teardown(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ctx.observe.close(code);
    this.#subscriptions?.close();
    const principal = this.#principal;
    if (principal) {
      this.#ctx.observe.socket(principal.role, -1);
      this.#ctx.presence.closed(principal.tenant);
      if (principal.role !== "visitor") {
        this.#ctx.presence.release(principal.tenant, principal.sub);
        this.#ctx.availability.disconnected(principal.tenant, principal.sub);
      }
    }
  }
}
