/**
 * The actor host: activates actors on demand, runs one turn at a time per
 * actor, commits events through the group committer and replies only after
 * the commits a reply depends on (the output gate).
 *
 * @module
 */
import type {
  ActorAddress,
  DecideContext,
  Decider,
  Projection,
  TenantSettings,
  TimerSpec,
} from "../../actors/decider.ts";
import { context, propagation, ROOT_CONTEXT, SpanStatusCode } from "@opentelemetry/api";
import { tracer } from "../telemetry/tracing.ts";
import { actorKey, invalidAddressPart } from "../actor_key.ts";
import {
  type AppendRequest,
  type EventStore,
  type NewEvent,
  type OutboxEntry,
} from "../store/event_store.ts";
import { appendFailure, type GroupCommitter } from "../store/group_committer.ts";
import {
  type ActorError,
  type ActorRequest,
  type ActorResponse,
  failed,
  RuntimeErrors,
} from "../protocol.ts";

// deno-lint-ignore no-explicit-any
type AnyDecider = Decider<any, any, any>;

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
  /** A snapshot is written every this many events. */
  snapshotEvery?: number;
  /** How many recent command replies an activation remembers for idempotency. */
  replyWindow?: number;
  now?: () => number;
  /** Observes each turn: actor kind and decide-to-reply latency in ms. */
  onTurn?: (kind: string, ms: number) => void;
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
}

interface Job {
  request: ActorRequest;
  resolve: (response: Promise<ActorResponse> | ActorResponse) => void;
}

interface Activation {
  key: string;
  address: ActorAddress;
  decider: AnyDecider;
  ready: Promise<void>;
  settings: TenantSettings;
  state: unknown;
  /** Sequence of the last event decided, committed or not. */
  seq: number;
  snapshotSeq: number;
  timers: string;
  /** Status and assignee of the last projection, to tell watchers only of changes. */
  placed: string;
  queue: Job[];
  /** Turns decided but not yet answered. */
  inflight: number;
  /** Settles once every append so far is durable; rejects on the first failure. */
  gate: Promise<void>;
  /** Settles (never rejects) once every append so far has settled. */
  settled: Promise<void>;
  replies: Map<string, Promise<ActorResponse>>;
  failure: ActorError | null;
  lastUsed: number;
}

/** Hosts the activations of one node. */
export class ActorHost {
  #options:
    & Required<Omit<ActorHostOptions, "onTurn" | "onError" | "onEffects" | "onCommitted">>
    & ActorHostOptions;
  #deciders: Map<string, AnyDecider>;
  #actors = new Map<string, Activation>();
  // Keys whose previous activation still has appends in flight: a new
  // activation waits for them, so it loads a log that will not move under it.
  #retiring = new Map<string, Promise<void>>();
  #draining = false;
  #sweeper: ReturnType<typeof setInterval>;

  constructor(options: ActorHostOptions) {
    this.#options = {
      mailboxCapacity: 1024,
      idleMs: 120_000,
      snapshotEvery: 100,
      replyWindow: 1000,
      now: Date.now,
      ...options,
    };
    this.#deciders = new Map(options.deciders.map((d) => [d.kind, d]));
    this.#sweeper = setInterval(
      () => this.#passivateIdle(),
      Math.max(250, this.#options.idleMs / 4),
    );
  }

  /** Run a request against its actor on this node. */
  dispatch(request: ActorRequest): Promise<ActorResponse> {
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
    if (activation.queue.length + activation.inflight >= this.#options.mailboxCapacity) {
      return Promise.resolve(failed(RuntimeErrors.overloaded, `mailbox of ${key} is full`));
    }
    activation.lastUsed = this.#options.now();
    return new Promise((resolve) => {
      activation.queue.push({ request, resolve });
      if (activation.queue.length === 1) this.#run(activation);
    });
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
      depth += activation.queue.length + activation.inflight;
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
    const activation: Activation = {
      key,
      address,
      decider,
      ready: Promise.resolve(),
      settings: undefined as unknown as TenantSettings,
      state: decider.initial(address),
      seq: 0,
      snapshotSeq: 0,
      timers: "[]",
      placed: placement(null),
      queue: [],
      inflight: 0,
      gate: Promise.resolve(),
      settled: Promise.resolve(),
      replies: new Map(),
      failure: null,
      lastUsed: this.#options.now(),
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
      this.#options.store.load(activation.key, this.#options.replyWindow),
      this.#options.tenantSettings(activation.address.tenant),
    ]);
    const { decider } = activation;
    let state = loaded.snapshot ? loaded.snapshot.state : decider.initial(activation.address);
    for (const event of loaded.events) state = decider.evolve(state, event.data);
    activation.state = state;
    activation.settings = settings;
    activation.seq = loaded.events.at(-1)?.seq ?? loaded.snapshot?.seq ?? 0;
    activation.snapshotSeq = loaded.snapshot?.seq ?? 0;
    activation.timers = timersJson(loaded.timers);
    activation.placed = placement(decider.project?.(state));
    // Newest first, so the map's insertion order ends oldest-first after reversal.
    for (const { commandId, seq, reply } of [...loaded.replies].reverse()) {
      activation.replies.set(commandId, Promise.resolve({ ok: true, reply, seq }));
    }
  }

  async #run(activation: Activation): Promise<void> {
    try {
      await activation.ready;
    } catch (error) {
      this.#options.onError?.("activation failed", { actor: activation.key, error: String(error) });
      if (this.#actors.get(activation.key) === activation) this.#actors.delete(activation.key);
      const response = failed(RuntimeErrors.unavailable, `could not load ${activation.key}`);
      for (const job of activation.queue.splice(0)) job.resolve(response);
      return;
    }
    // Turns are synchronous (deciders do no I/O), so the whole queue is decided
    // in one go; replies then wait on the commits they depend on.
    while (activation.queue.length > 0) {
      const job = activation.queue[0];
      job.resolve(this.#tracedTurn(activation, job.request));
      activation.queue.shift();
    }
  }

  // One span per turn, a child of the caller's span when its trace context came along.
  #tracedTurn(
    activation: Activation,
    request: ActorRequest,
  ): Promise<ActorResponse> | ActorResponse {
    const parent = request.traceparent
      ? propagation.extract(ROOT_CONTEXT, { traceparent: request.traceparent })
      : context.active();
    const span = tracer.startSpan(`actor turn ${activation.address.kind}`, {
      attributes: { "sb.actor": activation.key, "sb.op": request.op },
    }, parent);
    const answer = this.#turn(activation, request);
    const end = (response: ActorResponse) => {
      if (!response.ok) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.code });
      }
      span.end();
      return response;
    };
    return answer instanceof Promise ? answer.then(end) : end(answer);
  }

  #turn(activation: Activation, request: ActorRequest): Promise<ActorResponse> | ActorResponse {
    const started = performance.now();
    if (activation.failure) return { ok: false, error: activation.failure };
    if (this.#options.now() > request.deadline) {
      return failed(RuntimeErrors.timeout, "deadline passed before the turn ran");
    }
    const { decider } = activation;
    if (request.op === "read") {
      const seq = activation.seq;
      const view = decider.view ? decider.view(activation.state) : activation.state;
      return this.#afterGate(
        activation,
        started,
        () =>
          seq === 0
            ? failed(RuntimeErrors.notFound, `${activation.address.kind} not found`, false)
            : { ok: true, reply: view, seq },
      );
    }
    const remembered = activation.replies.get(request.commandId);
    if (remembered) return remembered;

    const now = this.#options.now();
    const ctx: DecideContext = {
      now,
      actor: activation.address,
      commandId: request.commandId,
      tenant: activation.settings,
    };
    let decision;
    try {
      decision = decider.decide(activation.state, request.command, ctx);
    } catch (error) {
      this.#options.onError?.("decide threw", { actor: activation.key, error: String(error) });
      return failed("internal", "the actor failed to decide", false);
    }
    if ("reject" in decision) {
      const { code, message, field, details } = decision.reject;
      return this.#afterGate(activation, started, () => ({
        ok: false,
        error: {
          code,
          message,
          retryable: false,
          ...(field && { field }),
          ...(details && { details }),
        },
      }));
    }
    if (decision.events.length === 0) {
      const seq = activation.seq;
      const view = decider.view ? decider.view(activation.state) : activation.state;
      return this.#afterGate(activation, started, () => ({ ok: true, reply: view, seq }));
    }
    const response = this.#commit(activation, request.commandId, decision.events, now, started);
    activation.replies.set(request.commandId, response);
    if (activation.replies.size > this.#options.replyWindow) {
      activation.replies.delete(activation.replies.keys().next().value!);
    }
    return response;
  }

  #commit(
    activation: Activation,
    commandId: string,
    events: { type: string }[],
    now: number,
    started: number,
  ): Promise<ActorResponse> {
    const { decider } = activation;
    const expectedSeq = activation.seq;
    const stored: NewEvent[] = [];
    const outbox: OutboxEntry[] = [];
    let state = activation.state;
    for (const event of events) {
      state = decider.evolve(state, event);
      const seq = ++activation.seq;
      stored.push({
        seq,
        type: event.type,
        data: event as Record<string, unknown>,
        commandId,
        at: now,
      });
      for (
        const [idx, effect] of (decider.effects?.(state, event, activation.address) ?? []).entries()
      ) {
        outbox.push({ actorKey: activation.key, seq, idx, ...effect, createdAt: now });
      }
    }
    activation.state = state;
    const seq = activation.seq;
    const reply = decider.view ? decider.view(state) : state;
    stored[stored.length - 1].reply = reply;

    const append: AppendRequest = { actorKey: activation.key, expectedSeq, events: stored };
    if (outbox.length > 0) append.outbox = outbox;
    const timers = timersJson(decider.timers?.(state) ?? []);
    if (timers !== activation.timers) {
      append.timers = JSON.parse(timers);
      activation.timers = timers;
    }
    const row = decider.project?.(state);
    if (row) {
      const { kind, tenant, id } = activation.address;
      append.projection = { key: { kind, tenant, id }, row };
    }
    if (seq - activation.snapshotSeq >= this.#options.snapshotEvery) {
      append.snapshot = { seq, state };
      activation.snapshotSeq = seq;
    }

    const committed = this.#options.committer.append(append);
    const { onEffects, onCommitted } = this.#options;
    if (outbox.length > 0 && onEffects) committed.then(() => onEffects(outbox), () => {});
    if (decider.pushed && onCommitted) {
      const placed = placement(row);
      const moved = placed !== activation.placed;
      activation.placed = placed;
      committed.then(
        () => onCommitted(activation.address, stored, moved ? row ?? null : null),
        () => {},
      );
    }
    activation.gate = Promise.all([activation.gate, committed]).then(() => {});
    activation.settled = committed.catch(() => {});
    activation.gate.catch((error) => this.#fail(activation, error));
    return this.#afterGate(activation, started, () => ({ ok: true, reply, seq }));
  }

  // The output gate: an answer leaves only once every event decided before it
  // is durable, even a rejection or a read, since both may rest on those events.
  #afterGate(
    activation: Activation,
    started: number,
    answer: () => ActorResponse,
  ): Promise<ActorResponse> {
    activation.inflight++;
    return activation.gate.then(answer, () => ({
      ok: false as const,
      error: activation.failure ?? failed(RuntimeErrors.unavailable, "commit failed").error,
    })).finally(() => {
      activation.inflight--;
      activation.lastUsed = this.#options.now();
      this.#options.onTurn?.(activation.address.kind, performance.now() - started);
    });
  }

  // A failed append means this activation's state is ahead of the log (or the
  // log moved under it): drop it, so the next message rebuilds from the store.
  #fail(activation: Activation, error: unknown): void {
    if (activation.failure) return;
    activation.failure = appendFailure(error, activation.key);
    this.#options.onError?.("append failed", { actor: activation.key, error: String(error) });
    this.#retire(activation);
  }

  #retire(activation: Activation): void {
    if (this.#actors.get(activation.key) !== activation) return;
    this.#actors.delete(activation.key);
    const done = Promise.all([activation.ready.catch(() => {}), activation.settled]).then(() => {
      if (this.#retiring.get(activation.key) === done) this.#retiring.delete(activation.key);
    });
    this.#retiring.set(activation.key, done);
  }

  #passivateIdle(): void {
    const cutoff = this.#options.now() - this.#options.idleMs;
    for (const activation of [...this.#actors.values()]) {
      if (
        activation.lastUsed < cutoff && activation.inflight === 0 && activation.queue.length === 0
      ) {
        this.#retire(activation);
      }
    }
  }
}

function timersJson(timers: TimerSpec[]): string {
  return JSON.stringify(
    [...timers].sort((a, b) => a.name.localeCompare(b.name)).map(({ name, at }) => ({ name, at })),
  );
}

function placement(row: Projection | null | undefined): string {
  return row ? JSON.stringify([row.status, row.assignee]) : "";
}
