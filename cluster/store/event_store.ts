/**
 * The durable side of the actor runtime: event log, snapshots, idempotency
 * records, durable timers, projections and tenant settings — one interface,
 * two drivers (Postgres and embedded PGlite) over the same schema.
 *
 * @module
 */
import type { ActorAddress, Projection, StoredTenantSettings } from "../../actors/decider.ts";
import type { ActorError, Page, PluginState, ProjectionQuery, StoredEvent } from "../protocol.ts";
import type { RouteInput } from "../../plugins/sdk.ts";

/** One event to append, with the id of the command that caused it. */
export interface NewEvent {
  seq: number;
  type: string;
  data: Record<string, unknown>;
  commandId: string;
  at: number;
}

/**
 * What a command's first execution answered, kept small: a retry gets the
 * same outcome, with the actor's current view rebuilt around `receipt`.
 */
export type CommandOutcome =
  | { ok: true; seq: number; receipt?: Record<string, unknown> }
  | {
    ok: false;
    error: { code: string; message: string; field?: string; details?: Record<string, unknown> };
  };

/** The idempotency record of one executed command of one actor. */
export interface IdempotencyRecord {
  commandId: string;
  /**
   * Digest of the request the id was first used for; null when the sender
   * gave none (system commands, whose ids are derived from what they do).
   */
  fingerprint: string | null;
  outcome: CommandOutcome;
  createdAt: number;
}

/** Where a page of {@linkcode EventStore.unassignedTickets} ended. */
export interface TicketCursor {
  createdAt: number;
  id: string;
}

/** An unassigned ticket as its projection row has it. */
export interface UnassignedTicket extends TicketCursor {
  doc: Record<string, unknown>;
}

/** Address columns of a projection row. */
export interface ProjectionKey {
  kind: string;
  tenant: string;
  id: string;
}

/**
 * Everything one actor's turn(s) write, atomically: events after `expectedSeq`,
 * and the snapshot, timers and projection of the resulting state.
 */
export interface AppendRequest {
  actorKey: string;
  /** The last sequence number this writer believes is stored (0: none). */
  expectedSeq: number;
  events: NewEvent[];
  /** A snapshot of the state after the last event, when one is due. */
  snapshot?: { seq: number; state: unknown };
  /** How the actor's durable timers changed; absent when none did. */
  timers?: TimerChanges;
  projection?: { key: ProjectionKey; row: Projection };
  /** Commands for other actors, delivered after the commit (see {@linkcode OutboxEntry}). */
  outbox?: OutboxEntry[];
  /**
   * The outcomes of the commands this append settles (an append may carry
   * only these: a refusal moves no sequence, but is fenced all the same).
   */
  idempotency?: IdempotencyRecord[];
}

/**
 * The durable timers an append changes, by name: those new or due at a new
 * time, and those no longer wanted. A name is in at most one of them.
 */
export interface TimerChanges {
  set: { name: string; at: number }[];
  delete: string[];
}

/** A command one actor's event sends another, kept until delivered. */
export interface OutboxEntry {
  /** The sending actor's key and the event that caused it. */
  actorKey: string;
  seq: number;
  idx: number;
  address: ActorAddress;
  command: { type: string; [field: string]: unknown };
  commandId: string;
  createdAt: number;
}

/** Where an outbox entry sits in the order of {@linkcode EventStore.pendingOutbox}. */
export type OutboxCursor = Pick<OutboxEntry, "createdAt" | "actorKey" | "seq" | "idx">;

/** What an activation is rebuilt from. */
export interface LoadedActor {
  snapshot: { seq: number; state: unknown } | null;
  /** Events after the snapshot, in order. */
  events: StoredEvent[];
  /** Idempotency records of the actor's most recent commands, newest first. */
  idempotency: IdempotencyRecord[];
  /** Timers currently stored for the actor. */
  timers: { name: string; at: number }[];
}

/** An outbox command its target refused for good, parked for ops. */
export interface DeadLetter extends OutboxEntry {
  failedAt: number;
  /** The refusal, as the target answered it. */
  error: ActorError;
}

/** A stored timer that is due (or nearly). */
export interface DueTimer {
  actorKey: string;
  name: string;
  at: number;
}

/** The append lost a race: another writer stored events after `expectedSeq`. */
export class AppendConflictError extends Error {
  override name = "AppendConflictError";
  constructor(readonly actorKey: string) {
    super(`append conflict on ${actorKey}: this activation is stale`);
  }
}

/** The store could not be reached or failed; nothing of the batch was written. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
}

/**
 * The store refused a batch for the data in it (a value it cannot hold, a
 * broken constraint): the same batch fails again, but some of its appends
 * alone may not. Nothing of the batch was written.
 */
export class StoreDataError extends StoreUnavailableError {
  override name = "StoreDataError";
}

/** The store refused this append for its data, alone: retrying it fails again. */
export class AppendRejectedError extends Error {
  override name = "AppendRejectedError";
  constructor(readonly actorKey: string, options?: ErrorOptions) {
    super(`the event store refused the append of ${actorKey}`, options);
  }
}

/** The commit queue is full: the store is slower than the appends coming in. */
export class CommitOverloadedError extends Error {
  override name = "CommitOverloadedError";
}

/** Widget keys name one tenant each: another tenant's widget already has this key. */
export class WidgetKeyTakenError extends Error {
  override name = "WidgetKeyTakenError";
  constructor() {
    super("widget.key is taken: choose another key");
  }
}

/** A routing plugin version as stored, one tenant's own. */
export interface PluginRecord {
  tenant: string;
  name: string;
  version: string;
  source: string;
  /** Handed to every call as the input's `options`. */
  options: RouteInput["options"];
  state: PluginState;
  createdAt: number;
  createdBy: string;
  /** When it last became active, epoch ms; rollback goes to the latest before the current. */
  activatedAt: number | null;
}

/** A version of that tenant's plugin with that name is already stored. */
export class PluginVersionTakenError extends Error {
  override name = "PluginVersionTakenError";
  constructor(name: string, version: string) {
    super(`${name}@${version} is already registered: versions never change, pick a new one`);
  }
}

/** The event store, shared by every node of a cluster. */
export interface EventStore {
  /**
   * Append several actors' events in one transaction. Each actor's append is
   * all-or-nothing and fenced by its expected sequence; the result names the
   * actor keys whose append lost the race (nothing of theirs was written).
   * Throws {@linkcode StoreDataError} when the data of the batch is refused,
   * {@linkcode StoreUnavailableError} for anything else.
   */
  appendBatch(batch: AppendRequest[]): Promise<{ conflicts: Set<string> }>;
  /**
   * Load an actor: latest snapshot, later events, the idempotency records of
   * its `recentCommands` most recent commands, timers.
   */
  load(actorKey: string, recentCommands: number): Promise<LoadedActor>;
  /** The idempotency records of these commands of one actor, those that exist. */
  idempotency(actorKey: string, commandIds: string[]): Promise<IdempotencyRecord[]>;
  /**
   * Delete at most `limit` idempotency records created before `before`
   * (epoch ms), skipping rows another pruner holds; answers how many went.
   */
  pruneIdempotency(before: number, limit: number): Promise<number>;
  /** The actor's events after `afterSeq`, oldest first. */
  events(actorKey: string, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /**
   * A conversation's `message` events whose counter `numbering` (agents see
   * every message by `seq`, visitors the public ones by `publicSeq`) is
   * above `after`, in order.
   */
  messages(
    actorKey: string,
    numbering: "seq" | "publicSeq",
    after: number,
    limit: number,
  ): Promise<Record<string, unknown>[]>;
  /** Projection rows, newest first. */
  list(query: ProjectionQuery): Promise<Page<Record<string, unknown>>>;
  /**
   * A tenant's open tickets nobody holds (status `new`, no assignee), oldest
   * first, after `after` in that order: the backlog a full queue leaves in
   * the store.
   */
  unassignedTickets(
    tenant: string,
    limit: number,
    after?: TicketCursor,
  ): Promise<UnassignedTicket[]>;
  /** Timers due at or before `until`, earliest first, after the timer `after` in that order. */
  dueTimers(until: number, limit: number, after?: DueTimer): Promise<DueTimer[]>;
  /**
   * Outbox entries created at or before `until`, oldest first, after the
   * entry `after` in that order.
   */
  pendingOutbox(until: number, limit: number, after?: OutboxCursor): Promise<OutboxEntry[]>;
  /** Forget delivered outbox entries, all in one statement. */
  deleteOutbox(entries: Pick<OutboxEntry, "actorKey" | "seq" | "idx">[]): Promise<void>;
  /** Move a refused outbox entry to the dead letters, atomically. */
  deadLetterOutbox(entry: OutboxCursor, error: ActorError, at: number): Promise<void>;
  /** The most recently parked dead letters, newest first. */
  outboxDeadLetters(limit: number): Promise<DeadLetter[]>;
  /** Delete one timer if it still has this due time. */
  deleteTimer(timer: DueTimer): Promise<void>;
  /** A tenant's stored settings, or null for defaults. */
  tenantSettings(tenant: string): Promise<StoredTenantSettings | null>;
  /**
   * Store a tenant's settings; throws {@linkcode WidgetKeyTakenError} when
   * another tenant's widget has the same key.
   */
  putTenantSettings(tenant: string, settings: StoredTenantSettings): Promise<void>;
  /** The tenant whose widget has `key`, with its stored settings, or null. */
  tenantByWidgetKey(
    key: string,
  ): Promise<{ tenant: string; settings: StoredTenantSettings } | null>;
  /** A tenant's plugin versions (of one plugin when `name` is given), oldest first. */
  plugins(tenant: string, name?: string): Promise<PluginRecord[]>;
  /** Every tenant's active and shadow versions, which every node loads. */
  livePlugins(): Promise<PluginRecord[]>;
  /**
   * Store a new version; as `active` or `shadow` it takes that role from the
   * version that held it, which becomes inactive. Throws
   * {@linkcode PluginVersionTakenError} when the version exists.
   */
  addPlugin(record: Omit<PluginRecord, "activatedAt">): Promise<void>;
  /**
   * Make a stored version the active one at `at` (the previous active one
   * becomes inactive); false when there is no such version.
   */
  activatePlugin(tenant: string, name: string, version: string, at: number): Promise<boolean>;
  /**
   * Activate again the version that was active before the current one; the
   * version it activated, or null when no version was active before.
   */
  rollbackPlugin(tenant: string, name: string): Promise<string | null>;
  /** Release connections. */
  close(): Promise<void>;
}
