/**
 * The edge of a process: the HTTP API and the WebSocket endpoint `/v1/ws`
 * in one handler for `Deno.serve`, with what the sockets share (conversation
 * subscriptions, the tenants' conversation feed, agent presence, limits).
 *
 * @module
 */
import type { Config } from "../cluster/process/config.ts";
import type { Logger } from "../cluster/telemetry/log.ts";
import type { MetricsRegistry } from "../cluster/telemetry/metrics.ts";
import type { Backend } from "../cluster/protocol.ts";
import type { Transport } from "../cluster/transport/transport.ts";
import type { SharedState } from "../cluster/process/shared_state.ts";
import { AuthError, verifyToken } from "./auth/auth.ts";
import { ConversationHub } from "./live/conversation_hub.ts";
import { clientAddress, createHttpHandler } from "./http/handler.ts";
import { Presence } from "./live/presence.ts";
import { agentSummaries } from "./live/agents.ts";
import { ReadMarkers } from "./live/read_markers.ts";
import { MemoryBudgetBank, type RateLimiter, TokenBucketLimiter } from "./limits/rate_limit.ts";
import { connectRedis, RedisBudgetBank, RedisRateLimiter } from "./limits/redis_rate_limiter.ts";
import { callerLimiter } from "./limits/caller_limits.ts";
import { LeasedBudgetBank } from "./limits/leased_budgets.ts";
import { TenantFeed } from "./live/tenant_feed.ts";
import { tenantOriginCheck } from "./http/cors.ts";
import { QueueAvailability } from "./ws/availability.ts";
import { QueueFeed } from "./live/queue_feed.ts";
import { type ConnectionContext, type LiveConnection, serveConnection } from "./ws/connection.ts";
import { PendingHellos } from "./ws/pending_hellos.ts";
import { createWebPages, type WebOptions } from "./web/web.ts";
import { keylessCommand } from "./idempotency.ts";

/** Options of {@linkcode createEdge}. */
export interface EdgeOptions {
  config: Config;
  backend: Backend;
  bus: Transport;
  /** The process's replicated state (presence, load, read markers). */
  shared: SharedState;
  metrics: MetricsRegistry;
  log: Logger;
  jwtSecret: string;
  /** WebSocket heartbeat interval; a socket silent for two is closed. */
  heartbeatMs?: number;
  /** Unsent bytes after which a socket is closed as a slow consumer (1013). */
  maxBufferedBytes?: number;
  /** How long a backfill waits for a client that does not read before 1013. */
  stallMs?: number;
  /** How often the head of each watched conversation is checked (lost pushes). */
  headCheckMs?: number;
  /**
   * Sockets of one client address that may wait for their `hello` at once;
   * high enough for an office behind one NAT reconnecting together.
   */
  maxPendingPerAddress?: number;
  /** Conversations one socket may watch at once. */
  maxWatchesPerSocket?: number;
  /** The demo page and the dev sign-in; given, the browser scripts are bundled at once. */
  web?: WebOptions;
}

/** A running edge. */
export interface Edge {
  handler: (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  /** Close every socket (1001, so clients reconnect elsewhere) and stop announcing. */
  close(): Promise<void>;
  /**
   * Ask the owners of every watched conversation for their heads now: when
   * the cluster's nodes change, a node may have died between a commit and
   * its push. (The edge does it by itself when its bus reconnects.)
   */
  checkHeads(): void;
}

const subprotocol = "switchboard.v1";
const bearerPrefix = "bearer.";

/** Build the edge's request handler. */
export function createEdge(options: EdgeOptions): Edge {
  const { config, backend, bus, metrics, log, jwtSecret } = options;
  const presence = new Presence({ shared: options.shared, edge: config.nodeId });
  const redis = config.redisUrl ? connectRedis(config.redisUrl, { log }) : undefined;
  // Shared by every edge when Redis is there, so a tenant's limit is cluster-wide.
  const limiter = (prefix: string, ratePerSecond: number, burst: number): RateLimiter =>
    redis
      ? new RedisRateLimiter({
        redis,
        prefix: `${config.cluster}:${prefix}:`,
        ratePerSecond,
        burst,
      })
      : new TokenBucketLimiter({ ratePerSecond, burst });
  const bank = redis
    ? new LeasedBudgetBank(new RedisBudgetBank({ redis, prefix: `${config.cluster}:` }))
    : new MemoryBudgetBank();
  const callers = callerLimiter(bank, {
    tenantRatePerSecond: config.tenantRatePerSecond,
    callerRatePerSecond: config.callerRatePerSecond,
  });
  const readMarkers = new ReadMarkers({
    shared: options.shared,
    checkpoint: async (tenant, conversation, by, seq) => {
      const answer = await backend.request({
        address: { kind: "session", tenant, id: conversation },
        op: "command",
        command: { type: "mark_read", by: { sub: by.sub, role: by.role }, seq },
        ...keylessCommand(),
        deadline: Date.now() + 5000,
      });
      if (!answer.ok) throw new Error(`${answer.error.code}: ${answer.error.message}`);
    },
    onError: (message, fields) => log.warn(message, fields),
  });
  const http = createHttpHandler({
    backend,
    jwtSecret,
    metrics,
    log,
    rateLimiter: callers,
    bootstrapLimiter: limiter(
      "bootstrap",
      config.bootstrapRatePerSecond,
      config.bootstrapRatePerSecond * 4,
    ),
    presence,
    agents: (tenant) => agentSummaries(presence, options.shared, tenant),
    readMarkers,
  });
  const web = createWebPages(options.web);
  if (options.web) web.warm();
  const sockets = new Map<WebSocket, LiveConnection>();
  const pendingHellos = new PendingHellos(options.maxPendingPerAddress ?? 256);
  const feed = new TenantFeed(bus, backend, config.cluster);
  const hub = new ConversationHub(bus, config.cluster, {
    backend,
    headCheckMs: options.headCheckMs,
  });
  // Pushes published while this edge was cut off from the bus are gone.
  bus.onStatus((connected) => connected && hub.checkAll());

  const socketGauge = metrics.gauge<"role">({
    name: "sb_ws_sockets",
    help: "Open, authenticated WebSockets by role.",
    labelNames: ["role"],
  });
  const frames = metrics.counter<"type">({
    name: "sb_ws_frames_total",
    help: "Valid frames received, by type.",
    labelNames: ["type"],
  });
  const errors = metrics.counter<"code">({
    name: "sb_ws_errors_total",
    help: "err frames sent, by code.",
    labelNames: ["code"],
  });
  const closes = metrics.counter<"code">({
    name: "sb_ws_closes_total",
    help: "Sockets closed, by close code.",
    labelNames: ["code"],
  });
  const context: ConnectionContext = {
    backend,
    hub,
    feed,
    queueFeed: new QueueFeed(bus, config.cluster),
    presence,
    readMarkers,
    availability: new QueueAvailability(backend, log),
    jwtSecret,
    log,
    callerLimiter: callers,
    connectionRate: {
      ratePerSecond: config.connectionRatePerSecond,
      burst: config.connectionRatePerSecond * 2,
    },
    heartbeatMs: options.heartbeatMs ?? 15_000,
    helloTimeoutMs: 10_000,
    maxBufferedBytes: options.maxBufferedBytes ?? 1024 * 1024,
    stallMs: options.stallMs ?? 10_000,
    requestTimeoutMs: 5000,
    maxWatches: options.maxWatchesPerSocket ?? 500,
    widgetOriginAllowed: tenantOriginCheck((tenant) => backend.settings(tenant)),
    observe: {
      socket: (role, delta) => socketGauge.inc({ role }, delta),
      frame: (type) => frames.inc({ type }),
      error: (code) => errors.inc({ code }),
      close: (code) => closes.inc({ code: String(code) }),
    },
  };

  // One timer for all sockets: hello deadlines, token expiry and heartbeats.
  const ticker = setInterval(() => {
    const now = Date.now();
    for (const connection of sockets.values()) connection.tick(now);
    pendingHellos.sweep();
  }, Math.min(1000, context.heartbeatMs));

  async function upgrade(request: Request, address: string): Promise<Response> {
    // Browsers cannot set headers on a WebSocket: the token may ride in the
    // subprotocol list as `bearer.<token>` next to `switchboard.v1`.
    const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) =>
      p.trim()
    );
    const bearer = offered.find((p) => p.startsWith(bearerPrefix))?.slice(bearerPrefix.length);
    const origin = request.headers.get("origin");
    let principal;
    if (bearer) {
      try {
        principal = await verifyToken(jwtSecret, bearer);
      } catch (error) {
        const message = error instanceof AuthError ? error.message : "invalid token";
        return Response.json({ error: { code: "unauthorized", message } }, { status: 401 });
      }
      if (
        principal.role === "visitor" &&
        !await context.widgetOriginAllowed(principal.tenant, origin)
      ) {
        return Response.json({
          error: { code: "origin_not_allowed", message: `the widget is not allowed on ${origin}` },
        }, { status: 403 });
      }
    } else if (!pendingHellos.admits(address)) {
      return Response.json({
        error: {
          code: "too_many_pending",
          message: "too many sockets of this address wait for their hello",
        },
      }, { status: 429, headers: { "retry-after": String(context.helloTimeoutMs / 1000) } });
    }
    const { socket, response } = Deno.upgradeWebSocket(request, {
      ...(offered.includes(subprotocol) && { protocol: subprotocol }),
    });
    const connection = serveConnection(socket, context, principal, origin);
    sockets.set(socket, connection);
    if (!principal) pendingHellos.add(address, connection);
    socket.addEventListener("close", () => sockets.delete(socket));
    return response;
  }

  return {
    checkHeads: () => hub.checkAll(),
    handler(request, info) {
      if (new URL(request.url).pathname === "/v1/ws") {
        if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
          return Response.json(
            { error: { code: "upgrade_required", message: "/v1/ws speaks WebSocket" } },
            { status: 426, headers: { upgrade: "websocket" } },
          );
        }
        return upgrade(request, clientAddress(info));
      }
      return web.handle(request) ?? http(request, info);
    },
    close() {
      clearInterval(ticker);
      for (const socket of sockets.keys()) {
        try {
          socket.close(1001, "edge shutting down");
        } catch {
          // already closed
        }
      }
      presence.close();
      readMarkers.close();
      hub.close();
      feed.close();
      redis?.disconnect();
      return Promise.resolve();
    },
  };
}
