/**
 * The request/response shapes that cross from an edge to the actor runtime,
 * whether in-process (standalone) or over NATS (cluster).
 *
 * @module
 */
import type { ActorAddress, StoredTenantSettings, TenantSettings } from "../actors/decider.ts";
import type { RouteOutcome, RouteRequest, VersionInfo } from "../plugins/host/plugin_host.ts";
import type { RouteInput } from "../plugins/sdk.ts";

/** A command (or read) addressed to one actor. */
export interface ActorRequest {
  address: ActorAddress;
  /** `command` runs the decider; `read` answers the current view. */
  op: "command" | "read";
  /** The command body for `op: "command"`; it must carry a string `type`. */
  command?: { type: string; [field: string]: unknown };
  /**
   * Idempotency key: a retry with the same id returns the original outcome.
   * Two namespaces that never meet: ids from clients are scoped by the edge
   * to the principal (`c:<role>:<sub>:<key>`, see `edge/idempotency.ts`);
   * ids the system derives (timers, outbox commands, widget opens) start `s:`.
   */
  commandId: string;
  /**
   * Digest of the request a client's key was used for (SHA-256 of method,
   * path and body, or of a WebSocket command); the same id with another
   * fingerprint is answered `idempotency_mismatch`.
   */
  fingerprint?: string;
  /**
   * Epoch ms on this process's clock after which the caller no longer waits;
   * the runtime skips late work. On the bus it travels as a budget
   * ({@linkcode WireActorRequest}).
   */
  deadline: number;
  /** W3C trace context of the caller, if any. */
  traceparent?: string;
  /**
   * The sender just minted this actor's id at random, so it has no history:
   * the runtime may skip reading the log. Fencing still refuses the append
   * if the id was not new after all.
   */
  fresh?: boolean;
  /**
   * No client holds this command's id: the edge minted it for a request that
   * came without an idempotency key, so only the edge's own retries can send
   * it again, and a retry of a command that wrote nothing may as well run
   * again. Such a command leaves no idempotency record unless it wrote events.
   */
  unkeyed?: boolean;
  /**
   * The caller reads only the receipt of a success (the numbers a chat send
   * got), so an actor whose decider gives receipts answers the receipt alone
   * instead of its whole view: smaller to encode, to carry and to decode.
   */
  receiptOnly?: boolean;
}

/**
 * An {@linkcode ActorRequest} as it crosses the bus. The clocks of two
 * processes disagree, so the deadline travels as the time left, and the
 * receiver turns it back into a deadline on its own clock.
 */
export type WireActorRequest = Omit<ActorRequest, "deadline"> & { budgetMs: number };

/** `request` for the bus, its deadline read on the sender's clock at `now`. */
export function toWire({ deadline, ...request }: ActorRequest, now: number): WireActorRequest {
  return { ...request, budgetMs: Math.max(0, deadline - now) };
}

/** A request off the bus, its deadline on the receiver's clock at `now`. */
export function fromWire({ budgetMs, ...request }: WireActorRequest, now: number): ActorRequest {
  return { ...request, deadline: now + budgetMs };
}

/** A failure answer. `retryable` tells the client a retry may succeed. */
export interface ActorError {
  code: string;
  message: string;
  retryable: boolean;
  field?: string;
  details?: Record<string, unknown>;
}

/** The answer to an {@linkcode ActorRequest}. */
export type ActorResponse =
  | { ok: true; reply: unknown; seq: number }
  | { ok: false; error: ActorError };

/** Error codes the runtime itself produces (deciders add their own). */
export const RuntimeErrors = {
  /** The actor's mailbox or the node's commit queue is full. */
  overloaded: "overloaded",
  /** This activation lost an append race: another owner wrote first. */
  staleOwner: "stale_owner",
  /** The store or the bus is unreachable. */
  unavailable: "unavailable",
  /** The request's deadline passed before it could run. */
  timeout: "timeout",
  /** A read of an actor that has never been created. */
  notFound: "not_found",
  /** The node is not the owner under its view. */
  redirect: "redirect",
  /** The node is shutting down and takes no new work. */
  draining: "draining",
  /** Unknown actor kind. */
  unknownKind: "unknown_kind",
  /** The event store refused the command's data; the same command fails again. */
  invalid: "invalid",
  /** The actor failed while taking the command (a bug); it reloads on the next one. */
  internal: "internal",
  /** The command id was first used for a different request. */
  idempotencyMismatch: "idempotency_mismatch",
} as const;

/** Errors after which a client may safely retry with the same command id. */
export const retryableCodes: ReadonlySet<string> = new Set([
  RuntimeErrors.overloaded,
  RuntimeErrors.staleOwner,
  RuntimeErrors.unavailable,
  RuntimeErrors.timeout,
  RuntimeErrors.redirect,
  RuntimeErrors.draining,
]);

/** One stored event as served by the audit history. */
export interface StoredEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  commandId: string;
  at: number;
}

/** A page of results with an opaque cursor for the next page, null at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Filters for listing projections (e.g. tickets) of one tenant. */
export interface ProjectionQuery {
  kind: string;
  tenant: string;
  status?: string;
  assignee?: string;
  limit: number;
  cursor?: string;
}

/** A conversation's newest message numbers: `seq` as staff count, `publicSeq` as its visitor does. */
export interface ConversationHead {
  seq: number;
  publicSeq: number;
}

/** The most conversations one request for heads names; the cluster splits larger asks. */
export const maxHeadsPerRequest = 500;

/** A request for heads on the bus: the conversations, and the time left to answer in. */
export interface WireHeadsRequest {
  addresses: ActorAddress[];
  budgetMs: number;
}

/**
 * Everything the edge needs from the runtime. Standalone implements it
 * in-process; the cluster implements it over NATS.
 */
export interface Backend {
  /** Route a request to the actor's owner and wait for its answer. */
  request(request: ActorRequest): Promise<ActorResponse>;
  /**
   * The heads of these conversations (session actors), in order, each as its
   * owner reads it after its pending commits; null for one that does not
   * exist or whose owner did not answer by `deadline` (epoch ms). The cluster
   * asks each owner node once for all of its conversations.
   */
  heads(addresses: readonly ActorAddress[], deadline: number): Promise<(ConversationHead | null)[]>;
  /** Page through an actor's event history, oldest first, after `afterSeq`. */
  events(address: ActorAddress, afterSeq: number, limit: number): Promise<Page<StoredEvent>>;
  /**
   * Page through a conversation's messages after `after` by `numbering`
   * (`seq` for agents, `publicSeq` for visitors, who never see internal notes).
   */
  messages(
    address: ActorAddress,
    numbering: "seq" | "publicSeq",
    after: number,
    limit: number,
  ): Promise<Page<Record<string, unknown>>>;
  /** Page through query-side rows, newest first. */
  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>>;
  /** True once the process can serve (has a view, and for a node its store). */
  ready(): boolean;
  /** The membership view and what every node hosts, for the admin endpoint. */
  status(): Promise<ClusterStatus>;
  /** A tenant's effective settings (stored ones over the defaults). */
  settings(tenant: string): Promise<TenantSettings>;
  /** Replace a tenant's stored settings; answers the effective ones. */
  putSettings(tenant: string, settings: StoredTenantSettings): Promise<TenantSettings>;
  /** The tenant whose widget has `key`, with its effective settings, or null. */
  widgetTenant(key: string): Promise<WidgetTenant | null>;
  /**
   * Outbox commands their target refused for good, newest first: kept for
   * ops (a chat→ticket conversion the visitor was promised), never dropped.
   */
  deadLetters(limit: number): Promise<Record<string, unknown>[]>;
  /**
   * A plugin admin operation, answered by any node, or by node `node`
   * (whose sandbox and counters then answer).
   */
  plugins(request: PluginAdminRequest, node?: string): Promise<PluginAdminResponse>;
}

/** A tenant found by its widget key. */
export interface WidgetTenant {
  tenant: string;
  settings: TenantSettings;
}

/** The admin view of a cluster. */
export interface ClusterStatus {
  /** Per-process count of view changes; `viewId` is what processes compare. */
  epoch: number;
  viewId: string;
  nodes: { id: string; actors: Record<string, number> | null; mailbox: number | null }[];
  edges: string[];
}

/** The state of a stored plugin version: which role every node gives it. */
export type PluginState = "active" | "shadow" | "inactive";

/** A plugin admin operation, in the caller's tenant. */
export type PluginAdminRequest =
  | {
    op: "register";
    tenant: string;
    by: string;
    name: string;
    version: string;
    source: string;
    options: RouteInput["options"];
    mode: "active" | "shadow";
  }
  | { op: "list"; tenant: string }
  | { op: "activate"; tenant: string; name: string; version: string }
  | { op: "rollback"; tenant: string; name: string }
  | { op: "route"; tenant: string; name: string; request: RouteRequest };

/** A stored version as the API shows it, with what the answering node knows of it. */
export interface PluginView {
  name: string;
  version: string;
  state: PluginState;
  options: RouteInput["options"];
  sourceBytes: number;
  createdAt: number;
  createdBy: string;
  activatedAt: number | null;
  /** The answering node's role and counters for it; null when not loaded there. */
  local: Omit<VersionInfo, "name" | "version"> | null;
}

/** The answer to a {@linkcode PluginAdminRequest}. */
export type PluginAdminResponse =
  | { ok: true; node: string; plugin: PluginView }
  | { ok: true; node: string; plugins: PluginView[] }
  | { ok: true; node: string; outcome: RouteOutcome }
  | { ok: false; error: { code: string; message: string; retryable: boolean } };

/** A failure answer with `code`; retryable unless said otherwise. */
export function failed(
  code: string,
  message: string,
  retryable = true,
): { ok: false; error: ActorError } {
  return { ok: false, error: { code, message, retryable } };
}
