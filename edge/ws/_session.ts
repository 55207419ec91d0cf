/**
 * What the parts of a socket's handling share: the edge's context and the
 * few operations of the connection they call back into.
 *
 * @module
 */
import type { Logger } from "../../cluster/telemetry/log.ts";
import type { ActorRequest, Backend } from "../../cluster/protocol.ts";
import type { ConversationHub } from "../live/conversation_hub.ts";
import type { Presence } from "../live/presence.ts";
import type { ReadMarkers } from "../live/read_markers.ts";
import type { QueueAvailability } from "./availability.ts";
import type { QueueFeed } from "../live/queue_feed.ts";
import type { CallerRateLimiter } from "../limits/caller_limits.ts";
import type { TenantFeed } from "../live/tenant_feed.ts";
import type { ServerFrame } from "./frames.ts";
import type { Numbering } from "./conversation_stream.ts";

/** What every connection of an edge shares. */
export interface ConnectionContext {
  backend: Backend;
  hub: ConversationHub;
  feed: TenantFeed;
  /** The tenant's queue as its actor publishes it: places, estimates, offers. */
  queueFeed: QueueFeed;
  presence: Presence;
  readMarkers: ReadMarkers;
  /** Tells the tenant's queue what agents on this edge take. */
  availability: QueueAvailability;
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
  /** Conversations one socket may watch (or be asking to) at once. */
  maxWatches: number;
  /** Whether the tenant's widget may be used from a page of `origin` (null: not a page). */
  widgetOriginAllowed(tenant: string, origin: string | null): Promise<boolean>;
  observe: {
    socket(role: string, delta: 1 | -1): void;
    frame(type: string): void;
    error(code: string): void;
    close(code: number): void;
  };
}

/** An `err` frame's content. */
export type ErrorContent = Omit<Extract<ServerFrame, { t: "err" }>, "t">;

/** The operations of an authenticated socket its helpers call. */
export interface SocketSession {
  readonly ctx: ConnectionContext;
  /** How this socket's principal numbers messages. */
  readonly numbering: Numbering;
  send(frame: ServerFrame): void;
  error(error: ErrorContent): void;
  /** A request to a conversation's actor, with this socket's tenant and deadline. */
  request(conversation: string, op: "read" | "command", commandId?: string): ActorRequest;
  /** Whether this socket watches the conversation. */
  watching(conversation: string): boolean;
  /** Watch a conversation from its start unless it is watched already. */
  follow(conversation: string): Promise<void>;
}
