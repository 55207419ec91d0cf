/**
 * One WebSocket of a visitor or an agent: authentication, validation and
 * rate limits of every frame, commands to conversation actors, and
 * gap-free, duplicate-free delivery of each watched conversation — live
 * pushes after a backfill from the log, with any gap seen on the live
 * stream backfilled before delivery goes on.
 *
 * @module
 */
import { context, propagation, SpanStatusCode } from "@opentelemetry/api";
import { tracer } from "../../cluster/telemetry/tracing.ts";
import type { Logger } from "../../cluster/telemetry/log.ts";
import type { ActorRequest, Backend } from "../../cluster/protocol.ts";
import { AuthError, type Principal, verifyToken } from "../auth/auth.ts";
import type {
  ConversationEvent,
  ConversationHub,
  ConversationSignal,
} from "../live/conversation_hub.ts";
import type { Presence } from "../live/presence.ts";
import { type Bucket, takeToken } from "../limits/rate_limit.ts";
import type { CallerRateLimiter } from "../limits/caller_limits.ts";
import { clientMessage, isRetryable } from "../client_messages.ts";
import type { SessionSummary, TenantFeed } from "../live/tenant_feed.ts";
import { type ClientFrame, decodeFrame, encodeFrame, type ServerFrame } from "./frames.ts";

/** What every connection of an edge shares. */
export interface ConnectionContext {
  backend: Backend;
  hub: ConversationHub;
  feed: TenantFeed;
  presence: Presence;
  jwtSecret: string;
  log: Logger;
  /** Per-caller and per-tenant limits on command frames (Redis in a cluster). */
  callerLimiter?: CallerRateLimiter;
  /** Per-connection limit on frames. */
  connectionRate: { ratePerSecond: number; burst: number };
  heartbeatMs: number;
  helloTimeoutMs: number;
  /**
   * A socket whose unsent data passes this is closed with 1013; a backfill
   * waits below half of it, and closes with 1013 after `stallMs` of no progress.
   */
  maxBufferedBytes: number;
  stallMs: number;
  requestTimeoutMs: number;
  observe: {
    socket(role: string, delta: 1 | -1): void;
    frame(type: string): void;
    error(code: string): void;
    close(code: number): void;
  };
}

interface Watch {
  conversation: string;
  /** The last message number delivered, in this socket's numbering. */
  last: number;
  syncing: boolean;
  /** Live messages that arrived ahead of `last + 1`, by number. */
  ahead: Map<number, Record<string, unknown>>;
  status?: string;
  agent?: string | null;
  position?: number;
  stop: () => void;
}

const commandFrames = new Set(["send", "claim", "transfer", "resolve", "close", "rate"]);
// Typing is relayed at most this often per conversation, unless it flips.
const typingEveryMs = 1000;
const backfillPage = 500;

/** A served socket, as the edge's one timer sees it. */
export interface LiveConnection {
  /** Enforce the hello deadline and heartbeats; called about every second. */
  tick(now: number): void;
}

/** Serve one accepted WebSocket until it closes. */
export function serveConnection(
  socket: WebSocket,
  ctx: ConnectionContext,
  principal?: Principal,
): LiveConnection {
  return new Connection(socket, ctx, principal);
}

// Idle sockets are most of an edge's sockets, so a connection keeps little:
// no timers of its own (the edge ticks them all), maps only once used, and
// its rate limit as one small bucket.
class Connection implements LiveConnection {
  #socket: WebSocket;
  #ctx: ConnectionContext;
  #principal?: Principal;
  #binary = false;
  #watches = new Map<string, Watch>();
  #budget: Bucket;
  #openedAt: number;
  #lastHeard: number;
  #lastPinged: number;
  #typingSent?: Map<string, { at: number; on: boolean }>;
  #stopFeed?: () => void;
  /** The waiting list last sent to this agent, so only changes are sent. */
  #queueShown = "";
  #closed = false;
  #preAuthenticated?: Principal;

  constructor(socket: WebSocket, ctx: ConnectionContext, principal?: Principal) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#openedAt = this.#lastHeard = this.#lastPinged = Date.now();
    this.#budget = { tokens: ctx.connectionRate.burst, at: this.#openedAt };
    this.#preAuthenticated = principal;
    socket.binaryType = "arraybuffer";
    for (const type of ["open", "message", "close", "error"]) socket.addEventListener(type, this);
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
    if (now - this.#lastHeard > 2 * this.#ctx.heartbeatMs) {
      return this.#close(4008, "heartbeat timeout");
    }
    if (now - this.#lastPinged >= this.#ctx.heartbeatMs) {
      this.#lastPinged = now;
      this.#send({ t: "ping" });
    }
  }

  #receive(data: string | ArrayBuffer): void {
    this.#lastHeard = Date.now();
    this.#binary = typeof data !== "string";
    const decoded = decodeFrame(typeof data === "string" ? data : new Uint8Array(data));
    if (!decoded.ok) {
      if (decoded.close) return this.#close(decoded.close, decoded.reason);
      return this.#error(decoded.error);
    }
    const frame = decoded.frame;
    this.#ctx.observe.frame(frame.t);
    const { ratePerSecond, burst } = this.#ctx.connectionRate;
    const retryAfterMs = takeToken(this.#budget, Date.now(), ratePerSecond, burst);
    if (retryAfterMs > 0) {
      return this.#error({
        id: "id" in frame ? frame.id : undefined,
        code: "rate_limited",
        message: "too many frames on this connection",
        retryAfterMs,
      });
    }
    this.#handle(frame).catch((error) => {
      this.#ctx.log.error("frame failed", { frame: frame.t, error: String(error) });
      this.#error({
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
      this.#error({ code: "unauthorized", message: "send hello with a token first" });
      return this.#close(1008, "not authenticated");
    }
    switch (frame.t) {
      case "ping":
        return this.#send({ t: "pong", ...(frame.id && { id: frame.id }) });
      case "pong":
        return;
      case "resume":
        return await this.#resume(frame.conversations);
      case "typing":
      case "read":
        return this.#relay(frame, principal);
      case "status":
        if (principal.role === "visitor") {
          return this.#error({ code: "forbidden", message: "only agents have a status" });
        }
        return this.#ctx.presence.set(
          principal.tenant,
          principal.sub,
          frame.status,
          frame.capacity,
        );
    }
    if (commandFrames.has(frame.t)) return await this.#command(frame, principal);
  }

  async #hello(frame: Extract<ClientFrame, { t: "hello" }>): Promise<void> {
    if (this.#principal) {
      return this.#error({ code: "invalid_frame", message: "already authenticated; use resume" });
    }
    try {
      this.#authenticated(
        await verifyToken(this.#ctx.jwtSecret, frame.token ?? ""),
        frame.resume,
      );
    } catch (error) {
      const message = error instanceof AuthError ? error.message : "invalid token";
      this.#error({ code: "unauthorized", message });
      this.#close(1008, "unauthorized");
    }
  }

  #authenticated(principal: Principal, resume: Record<string, number> | undefined): void {
    if (this.#closed) return;
    this.#principal = principal;
    this.#ctx.observe.socket(principal.role, 1);
    this.#send({
      t: "welcome",
      sub: principal.sub,
      role: principal.role,
      tenant: principal.tenant,
      heartbeatMs: this.#ctx.heartbeatMs,
    });
    this.#stopFeed = this.#ctx.feed.watch(principal.tenant, (summary) => this.#summary(summary));
    if (principal.role !== "visitor") {
      this.#ctx.presence.connect(principal.tenant, principal.sub);
      this.#watchAssigned(principal).catch(() => {});
    }
    if (resume) this.#resume(resume).catch(() => {});
  }

  // An agent follows the conversations assigned to it, wherever they were assigned.
  async #watchAssigned(principal: Principal): Promise<void> {
    const page = await this.#ctx.backend.list({
      kind: "session",
      tenant: principal.tenant,
      assignee: principal.sub,
      status: "assigned",
      limit: 200,
    });
    for (const doc of page.items) {
      if (!this.#watches.has(doc.id as string)) await this.#watch(doc.id as string, 0);
    }
  }

  async #resume(conversations: Record<string, number>): Promise<void> {
    for (const [conversation, last] of Object.entries(conversations)) {
      const watch = this.#watches.get(conversation);
      if (watch) {
        // Already watched: the client may have dropped frames; redeliver from its point.
        if (last < watch.last) {
          watch.last = last;
          await this.#backfill(watch);
        }
      } else await this.#watch(conversation, last);
    }
  }

  async #watch(conversation: string, from: number): Promise<void> {
    const principal = this.#principal!;
    const read = await this.#ctx.backend.request(this.#request(conversation, "read"));
    const view = read.ok ? read.reply as { visitor?: { id: string; verified: boolean } } : null;
    // A visitor reaches only its own conversation, opened under the same kind
    // of identity (verified or anonymous); for anyone else it does not exist.
    const own = view?.visitor?.id === principal.sub &&
      view.visitor.verified === principal.verified;
    if (!view || (principal.role === "visitor" && !own)) {
      if (read.ok || read.error.code === "not_found") {
        return this.#error({ code: "not_found", message: `no conversation ${conversation}` });
      }
      return this.#error({
        code: read.error.code,
        message: clientMessage(read.error),
        retryAfterMs: 1000,
      });
    }
    if (this.#watches.has(conversation) || this.#closed) return;
    const watch: Watch = {
      conversation,
      last: from,
      syncing: false,
      ahead: new Map(),
      stop: () => {},
    };
    this.#watches.set(conversation, watch);
    watch.stop = this.#ctx.hub.watch(
      principal.tenant,
      conversation,
      (update) => this.#update(watch, update),
    );
    this.#summary(view as SessionSummary);
    await this.#backfill(watch);
  }

  #update(watch: Watch, update: ConversationEvent | ConversationSignal): void {
    const principal = this.#principal!;
    if (update.kind === "typing" || update.kind === "read") {
      if (update.sub === principal.sub) return;
      if (update.kind === "typing") {
        return this.#send({
          t: "typing",
          conversation: watch.conversation,
          sub: update.sub,
          role: update.role,
          on: update.on,
        });
      }
      return this.#send({
        t: "read",
        conversation: watch.conversation,
        sub: update.sub,
        seq: update.seq,
      });
    }
    if (update.type !== "message" || !this.#visible(update.data)) return;
    const number = this.#numberOf(update.data);
    if (number <= watch.last) return;
    watch.ahead.set(number, update.data);
    if (watch.syncing) return;
    if (number === watch.last + 1) this.#flush(watch);
    else this.#backfill(watch).catch(() => {});
  }

  // Read the log from the last delivered message; live messages that arrive
  // meanwhile wait in `ahead` and are delivered in order after it.
  async #backfill(watch: Watch, attempt = 0): Promise<void> {
    if (watch.syncing) return;
    watch.syncing = true;
    const { tenant } = this.#principal!;
    try {
      for (;;) {
        const page = await this.#ctx.backend.messages(
          { kind: "session", tenant, id: watch.conversation },
          this.#numbering(),
          watch.last,
          backfillPage,
        );
        for (const data of page.items) {
          if (this.#visible(data)) watch.ahead.set(this.#numberOf(data), data);
        }
        await this.#flushPaced(watch);
        if (page.nextCursor === null || this.#closed) break;
      }
    } catch (error) {
      this.#ctx.log.warn("backfill failed", {
        conversation: watch.conversation,
        error: String(error),
      });
    } finally {
      watch.syncing = false;
    }
    // Something newer than what the log showed is waiting: read again shortly.
    if (watch.ahead.size > 0 && !this.#closed && this.#watches.get(watch.conversation) === watch) {
      setTimeout(() => {
        if (!this.#closed) this.#backfill(watch, attempt + 1);
      }, Math.min(50 * 2 ** attempt, 2000));
    }
  }

  // A backfill can be far more than a socket's buffer: deliver it as fast as
  // the client reads, and give up on a client that stops reading.
  async #flushPaced(watch: Watch): Promise<void> {
    const highWater = this.#ctx.maxBufferedBytes / 2;
    while (watch.ahead.has(watch.last + 1) && !this.#closed) {
      const waitingSince = Date.now();
      while (this.#socket.bufferedAmount > highWater) {
        if (Date.now() - waitingSince > this.#ctx.stallMs) {
          return this.#close(1013, "slow consumer: reconnect and resume");
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      this.#flush(watch, 1);
    }
  }

  #flush(watch: Watch, limit = Infinity): void {
    for (const number of [...watch.ahead.keys()]) {
      if (number <= watch.last) watch.ahead.delete(number);
    }
    for (
      let next = watch.ahead.get(watch.last + 1), sent = 0;
      next && sent < limit;
      next = watch.ahead.get(watch.last + 1), sent++
    ) {
      watch.ahead.delete(watch.last + 1);
      watch.last++;
      this.#send({
        t: "msg",
        conversation: watch.conversation,
        seq: watch.last,
        kind: next.kind as string,
        author: next.author,
        body: next.body as string,
        at: next.at as number,
        ...(typeof next.clientMessageId === "string" && { clientMessageId: next.clientMessageId }),
      });
    }
  }

  // Status changes of the tenant's conversations: assignments reach the
  // agents concerned, closes and queue positions reach the watchers.
  #summary(summary: SessionSummary): void {
    const principal = this.#principal;
    if (!principal) return;
    const watch = this.#watches.get(summary.id);
    if (!watch) {
      if (
        principal.role !== "visitor" && summary.status === "assigned" &&
        summary.agent === principal.sub
      ) {
        this.#watch(summary.id, 0).catch(() => {});
      }
      if (principal.role !== "visitor") this.#queueChanged(principal);
      return;
    }
    if (
      summary.status === "assigned" &&
      (watch.status !== "assigned" || watch.agent !== summary.agent)
    ) {
      this.#send({ t: "assigned", conversation: summary.id, agent: summary.agent });
    }
    if (summary.status === "closed" && watch.status !== "closed") {
      this.#send({
        t: "close",
        conversation: summary.id,
        reason: String(summary.closeReason ?? "closed"),
      });
    }
    watch.status = summary.status;
    watch.agent = summary.agent;
    if (principal.role === "visitor") this.#queuePosition(principal, watch);
    else this.#queueChanged(principal);
  }

  #queuePosition(principal: Principal, watch: Watch): void {
    const queue = this.#ctx.feed.queue(principal.tenant);
    const position = queue.indexOf(watch.conversation) + 1;
    if (position === (watch.position ?? 0)) return;
    watch.position = position;
    if (position > 0) {
      this.#send({ t: "queue", conversation: watch.conversation, position, waiting: queue.length });
    }
  }

  #queueChanged(principal: Principal): void {
    const queue = this.#ctx.feed.queue(principal.tenant);
    const first = queue.slice(0, 50);
    const shown = `${queue.length}:${first.join(",")}`;
    if (shown === this.#queueShown) return;
    this.#queueShown = shown;
    this.#send({ t: "queue", waiting: queue.length, conversations: first });
  }

  #relay(frame: Extract<ClientFrame, { t: "typing" | "read" }>, principal: Principal): void {
    if (!this.#watches.has(frame.conversation)) {
      return this.#error({ code: "not_watching", message: `resume ${frame.conversation} first` });
    }
    const { sub, role, tenant } = principal;
    if (frame.t === "read") {
      return this.#ctx.hub.signal(tenant, frame.conversation, {
        kind: "read",
        sub,
        role,
        seq: frame.seq,
      });
    }
    const on = frame.on ?? true;
    this.#typingSent ??= new Map();
    const sent = this.#typingSent.get(frame.conversation);
    if (sent && sent.on === on && Date.now() - sent.at < typingEveryMs) return;
    this.#typingSent.set(frame.conversation, { at: Date.now(), on });
    this.#ctx.hub.signal(tenant, frame.conversation, { kind: "typing", sub, role, on });
  }

  async #command(frame: ClientFrame & { id: string; conversation: string }, principal: Principal) {
    const limited = await this.#rateLimit(principal);
    if (limited) {
      return this.#error({
        id: frame.id,
        code: "rate_limited",
        message: "too many requests for this caller or tenant",
        retryAfterMs: limited,
      });
    }
    const by = { sub: principal.sub, role: principal.role };
    const command = commandOf(frame, by);
    const commandId = frame.t === "send"
      ? `${principal.sub}:${frame.clientMessageId ?? frame.id}`
      : `${principal.sub}:${frame.t}:${frame.id}`;
    const response = await tracer.startActiveSpan(`ws ${frame.t}`, async (span) => {
      try {
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        const answer = await this.#ctx.backend.request({
          ...this.#request(frame.conversation, "command", commandId),
          command,
          ...(carrier.traceparent && { traceparent: carrier.traceparent }),
        });
        if (!answer.ok) span.setStatus({ code: SpanStatusCode.ERROR, message: answer.error.code });
        return answer;
      } finally {
        span.end();
      }
    });
    if (!response.ok) {
      const { code, retryable, field } = response.error;
      if (isRetryable(response.error)) {
        this.#ctx.log.warn("command failed; retryable", { code, error: response.error.message });
      }
      return this.#error({
        id: frame.id,
        code,
        message: clientMessage(response.error),
        ...(field && { field }),
        ...(retryable && { retryAfterMs: 1000 }),
      });
    }
    const view = response.reply as Record<string, unknown>;
    this.#send({
      t: "ack",
      id: frame.id,
      conversation: frame.conversation,
      seq: Number(view[this.#numbering()] ?? 0),
    });
    if (!this.#watches.has(frame.conversation)) await this.#watch(frame.conversation, 0);
  }

  async #rateLimit(principal: Principal): Promise<number | null> {
    const limiter = this.#ctx.callerLimiter;
    if (!limiter) return null;
    try {
      const decision = await limiter.take(principal);
      return decision.allowed ? null : decision.retryAfterMs;
    } catch (error) {
      // Rate limits fail open: a broken limiter must not stop conversations.
      this.#ctx.log.warn("rate limiter failed", { error: String(error) });
      return null;
    }
  }

  #request(
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

  #numbering(): "seq" | "publicSeq" {
    return this.#principal?.role === "visitor" ? "publicSeq" : "seq";
  }

  #numberOf(data: Record<string, unknown>): number {
    return Number(data[this.#numbering()]);
  }

  #visible(data: Record<string, unknown>): boolean {
    return this.#principal?.role !== "visitor" || data.internal !== true;
  }

  #send(frame: ServerFrame): void {
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    this.#socket.send(encodeFrame(frame, this.#binary));
    if (this.#socket.bufferedAmount > this.#ctx.maxBufferedBytes) {
      this.#close(1013, "slow consumer: reconnect and resume");
    }
  }

  #error(
    error: { id?: string; code: string; message: string; field?: string; retryAfterMs?: number },
  ): void {
    this.#ctx.observe.error(error.code);
    const { id, ...rest } = error;
    this.#send({ t: "err", ...(id && { id }), ...rest });
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
    for (const watch of this.#watches.values()) watch.stop();
    this.#watches.clear();
    this.#stopFeed?.();
    const principal = this.#principal;
    if (principal) {
      this.#ctx.observe.socket(principal.role, -1);
      if (principal.role !== "visitor") this.#ctx.presence.release(principal.tenant, principal.sub);
    }
  }
}

function commandOf(
  frame: ClientFrame & { id: string; conversation: string },
  by: { sub: string; role: string },
): ActorRequest["command"] {
  switch (frame.t) {
    case "send":
      return {
        type: "send",
        by,
        body: frame.body,
        kind: frame.kind ?? "text",
        clientMessageId: frame.clientMessageId ?? frame.id,
      };
    case "transfer":
      return { type: "transfer", by, to: frame.to, ...(frame.reason && { reason: frame.reason }) };
    case "rate":
      return {
        type: "rate",
        by,
        score: frame.score,
        ...(frame.comment && { comment: frame.comment }),
      };
    case "resolve":
    case "close":
      return { type: "close", by };
    default:
      return { type: frame.t, by };
  }
}
