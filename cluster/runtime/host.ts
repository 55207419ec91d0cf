/**
 * The actor host: activates actors on demand, runs one turn at a time per
 * actor, commits events through the group committer and replies only after
 * the commits a reply depends on (the output gate).
 *
 * @module
 */
import type { ActorAddress, Projection, TenantSettings } from "../../actors/decider.ts";
import { actorKey, invalidAddressPart } from "../actor_key.ts";
import {
  AppendRejectedError,
  type EventStore,
  type NewEvent,
  type OutboxEntry,
} from "../store/event_store.ts";
import { appendFailure, type GroupCommitter } from "../store/group_committer.ts";
import { type ActorRequest, type ActorResponse, failed, RuntimeErrors } from "../protocol.ts";
import { type Activation, type AnyDecider, newActivation, restore } from "./_activation.ts";
import { Mailbox } from "./_mailbox.ts";
import { Turns } from "./_turn.ts";

/** Options of {@linkcode ActorHost}. */
export interface ActorHostOptions {
  store: EventStore;
  committer: GroupCommitter;
  deciders: AnyDecider[];
  /** Settings of a tenant, read when one of its actors activates. */
  tenantSettings: (tenant: string) => Promise<TenantSettings>;
  /** Turns queued or awaiting commit per actor before `overloaded`. */
  mailboxCapacity?: number;
  /** Idle time after which an actor is passivated, in ms. */
  idleMs?: number;
  /** A snapshot is written every this many events; a large state less often (`snapshotInterval`). */
  snapshotEvery?: number;
  /**
   * How many of its most recent commands' idempotency records an activation
   * holds in memory; older ones (within the store's window) are looked up.
   */
  recentCommands?: number;
  now?: () => number;
  /** Observes each turn: actor kind and decide-to-reply latency in ms. */
  onTurn?: (kind: string, ms: number) => void;
  /** Observes each turn whose decider threw (answered `internal`), by actor kind. */
  onTurnFailed?: (kind: string) => void;
  /** Receives failures worth a log line. */
  onError?: (message: string, fields: Record<string, unknown>) => void;
  /** Receives the commands for other actors an append stored, once it is durable. */
  onEffects?: (entries: OutboxEntry[]) => void;
  /**
   * Receives the events of actors whose decider is `pushed`, once durable, in
   * commit order per actor, with the projection row of the resulting state
   * when its status or assignee changed (null otherwise).
   */
  onCommitted?: (address: ActorAddress, events: NewEvent[], row: Projection | null) => void;
  /**
   * Receives the events of every actor, once durable, in commit order per
   * actor, with the projection row of the resulting state (null for a kind
   * without projection): what this node committed, once per event.
   */
  onEveryCommit?: (address: ActorAddress, events: NewEvent[], row: Projection | null) => void;
  /**
   * Receives an actor's state once it is durable: after each turn that
   * wrote events, in commit order, and after an activation loads a log.
   */
  onState?: (address: ActorAddress, state: unknown) => void;
}

/** Hosts the activations of one node. */
export class ActorHost {
  #options:
    & Required<
      Omit<
        ActorHostOptions,
        | "onTurn"
        | "onTurnFailed"
        | "onError"
        | "onEffects"
        | "onCommitted"
        | "onEveryCommit"
        | "onState"
      >
    >
    & ActorHostOptions;
  #deciders: Map<string, AnyDecider>;
  #actors = new Map<string, Activation>();
  // Keys whose previous activation still has appends in flight: a new
  // activation waits for them, so it loads a log that will not move under it.
  #retiring = new Map<string, Promise<void>>();
  #turns: Turns;
  #draining = false;
  #sweeper: ReturnType<typeof setInterval>;

  constructor(options: ActorHostOptions) {
    this.#options = {
      mailboxCapacity: 1024,
      idleMs: 120_000,
      snapshotEvery: 100,
      recentCommands: 1000,
      now: Date.now,
      ...options,
    };
    this.#deciders = new Map(options.deciders.map((d) => [d.kind, d]));
    this.#turns = new Turns({
      ...this.#options,
      fail: (activation, error) => this.#fail(activation, error),
      threw: (activation) => {
        this.#options.onTurnFailed?.(activation.address.kind);
        this.#retire(activation);
      },
      answered: (activation) => this.#dropIfEmpty(activation),
    });
    this.#sweeper = setInterval(
      () => this.#passivateIdle(),
      Math.max(250, this.#options.idleMs / 4),
    );
  }

  /** Run a request against its actor on this node. */
  dispatch(request: ActorRequest): Promise<ActorResponse> {
    try {
      return this.#dispatch(request);
    } catch (error) {
      // Only a decider's `initial` can throw here; it is a bug, not the caller's fault.
      this.#options.onError?.("activation threw", { error: String(error) });
      this.#options.onTurnFailed?.(request.address.kind);
      return Promise.resolve(failed(RuntimeErrors.internal, "the actor failed to start", false));
    }
  }

  #dispatch(request: ActorRequest): Promise<ActorResponse> {
    if (this.#draining) return Promise.resolve(failed(RuntimeErrors.draining, "node is draining"));
    const badPart = invalidAddressPart(request.address);
    if (badPart) {
      return Promise.resolve({
        ok: false,
        error: {
          code: "validation",
          message: `${badPart} must be 1-128 characters of letters, digits and ._:-`,
          field: badPart,
          retryable: false,
        },
      });
    }
    const decider = this.#deciders.get(request.address.kind);
    if (!decider) {
      return Promise.resolve(
        failed(RuntimeErrors.unknownKind, `unknown actor kind ${request.address.kind}`, false),
      );
    }
    if (request.op === "command" && typeof request.command?.type !== "string") {
      return Promise.resolve({
        ok: false,
        error: {
          code: "validation",
          message: "command.type is required",
          field: "type",
          retryable: false,
        },
      });
    }
    const key = actorKey(request.address);
    const activation = this.#actors.get(key) ??
      this.#activate(key, request.address, decider, request.fresh === true);
    if (activation.mailbox.length + activation.inflight >= this.#options.mailboxCapacity) {
      return Promise.resolve(failed(RuntimeErrors.overloaded, `mailbox of ${key} is full`));
    }
    activation.lastUsed = this.#options.now();
    return activation.mailbox.post(request);
  }

  /** Active actors per kind. */
  activeByKind(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const kind of this.#deciders.keys()) counts[kind] = 0;
    for (const activation of this.#actors.values()) counts[activation.address.kind]++;
    return counts;
  }

  /** Turns waiting in mailboxes or for their commit, over all actors. */
  mailboxDepth(): number {
    let depth = 0;
    for (const activation of this.#actors.values()) {
      depth += activation.mailbox.length + activation.inflight;
    }
    return depth;
  }

  /**
   * Passivate every actor the predicate selects, after its current turn; its
   * next message activates it afresh (here or at a new owner).
   */
  passivate(select: (address: ActorAddress) => boolean): number {
    let count = 0;
    for (const activation of [...this.#actors.values()]) {
      if (select(activation.address)) {
        this.#retire(activation);
        count++;
      }
    }
    return count;
  }

  /**
   * Stop taking work, let every queued turn finish and its events commit, and
   * passivate everything. Later requests answer `draining`.
   */
  async drain(): Promise<void> {
    this.#draining = true;
    const all = [...this.#actors.values()];
    await Promise.all(all.map((a) => a.ready.catch(() => {})));
    this.passivate(() => true);
    await Promise.all([...this.#retiring.values()]);
    clearInterval(this.#sweeper);
  }

  /** Stop the background sweep without draining (tests and crashes). */
  close(): void {
    clearInterval(this.#sweeper);
  }

  #activate(key: string, address: ActorAddress, decider: AnyDecider, fresh: boolean): Activation {
    const { now, recentCommands, store } = this.#options;
    const activation: Activation = {
      ...newActivation(key, address, decider, { now: now(), recentCommands }),
      mailbox: new Mailbox({
        ready: () => activation.ready,
        turn: (request) => this.#turns.run(activation, request),
        loadFailed: (error) => {
          this.#options.onError?.("activation failed", { actor: key, error: String(error) });
          if (this.#actors.get(key) === activation) this.#actors.delete(key);
          return failed(RuntimeErrors.unavailable, `could not load ${key}`);
        },
        lookup: (requests) => {
          const ids = activation.commands.unknown(requests);
          if (ids.length === 0) return null;
          return store.idempotency(key, ids).then((found) => activation.commands.add(found));
        },
        lookupFailed: (error) => {
          this.#options.onError?.("idempotency lookup failed", {
            actor: key,
            error: String(error),
          });
          return failed(RuntimeErrors.unavailable, "the event store is unavailable; retry");
        },
      }),
    };
    activation.ready = fresh ? this.#settle(activation) : this.#load(activation);
    this.#actors.set(key, activation);
    return activation;
  }

  // A fresh actor has nothing in the log to read: only its tenant's settings.
  async #settle(activation: Activation): Promise<void> {
    await this.#retiring.get(activation.key);
    activation.settings = await this.#options.tenantSettings(activation.address.tenant);
  }

  async #load(activation: Activation): Promise<void> {
    await this.#retiring.get(activation.key);
    const [loaded, settings] = await Promise.all([
      // One more than memory holds, which tells whether the store has more.
      this.#options.store.load(activation.key, this.#options.recentCommands + 1),
      this.#options.tenantSettings(activation.address.tenant),
    ]);
    restore(activation, loaded);
    activation.settings = settings;
    if (activation.seq > 0) this.#options.onState?.(activation.address, activation.state);
  }

  // A failed append means this activation's state is ahead of the log (or the
  // log moved under it): drop it, so the next message rebuilds from the store.
  // When the store refused one turn's data, the turns around it did nothing
  // wrong: they retry on the rebuilt activation.
  #fail(activation: Activation, error: unknown): void {
    if (activation.failure) return;
    activation.failure = error instanceof AppendRejectedError
      ? failed(RuntimeErrors.staleOwner, `${activation.key} reloads; retry`).error
      : appendFailure(error, activation.key);
    this.#options.onError?.("append failed", { actor: activation.key, error: String(error) });
    this.#retire(activation);
  }

  // The jobs still queued are told to retry: the router sends them to the
  // true owner, or here again to a new activation that reloads the log.
  #retire(activation: Activation): void {
    if (this.#actors.get(activation.key) !== activation) return;
    this.#actors.delete(activation.key);
    activation.mailbox.close(
      failed(RuntimeErrors.staleOwner, `${activation.key} moved or reloads; retry`),
    );
    const done = Promise.all([activation.ready.catch(() => {}), activation.settled]).then(() => {
      if (this.#retiring.get(activation.key) === done) this.#retiring.delete(activation.key);
    });
    this.#retiring.set(activation.key, done);
  }

  // An actor nothing was ever decided for (a read or a refused command for an
  // id that does not exist) is not kept: unknown ids would otherwise each hold
  // an activation for the idle period.
  #dropIfEmpty(activation: Activation): void {
    if (activation.seq === 0 && activation.inflight === 0 && activation.mailbox.length === 0) {
      this.#retire(activation);
    }
  }

  #passivateIdle(): void {
    const cutoff = this.#options.now() - this.#options.idleMs;
    for (const activation of [...this.#actors.values()]) {
      if (
        activation.lastUsed < cutoff && activation.inflight === 0 && activation.mailbox.length === 0
      ) {
        this.#retire(activation);
      }
    }
  }
}
