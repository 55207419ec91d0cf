/**
 * One turn of an actor: decide, fold the events in, hand the append to the
 * group committer, and answer once the output gate opens.
 *
 * @module
 */
import type { ActorAddress, DecideContext, Projection } from "../../actors/decider.ts";
import { context, propagation, ROOT_CONTEXT, SpanStatusCode } from "@opentelemetry/api";
import { tracer } from "../telemetry/tracing.ts";
import type {
  AppendRequest,
  CommandOutcome,
  IdempotencyRecord,
  NewEvent,
  OutboxEntry,
} from "../store/event_store.ts";
import type { GroupCommitter } from "../store/group_committer.ts";
import { type ActorRequest, type ActorResponse, failed, RuntimeErrors } from "../protocol.ts";
import { type Activation, placement, viewOf } from "./_activation.ts";
import { foldIntoAppend } from "./_append.ts";
import { isRecorded, type Replay } from "./_idempotency.ts";
import { afterGate, gateOn } from "./_output_gate.ts";

/** What turns need from the host. */
export interface TurnOptions {
  committer: GroupCommitter;
  snapshotEvery: number;
  now: () => number;
  onTurn?: (kind: string, ms: number) => void;
  onError?: (message: string, fields: Record<string, unknown>) => void;
  onEffects?: (entries: OutboxEntry[]) => void;
  onCommitted?: (address: ActorAddress, events: NewEvent[], row: Projection | null) => void;
  onEveryCommit?: (address: ActorAddress, events: NewEvent[], row: Projection | null) => void;
  onState?: (address: ActorAddress, state: unknown) => void;
  /** Told of an activation whose append failed. */
  fail: (activation: Activation, error: unknown) => void;
  /** Told of an activation whose decider threw: its state can no longer be trusted. */
  threw: (activation: Activation) => void;
  /** Told after each answer of an activation is out. */
  answered: (activation: Activation) => void;
}

/** Runs turns for the activations of one host. */
export class Turns {
  #options: TurnOptions;

  constructor(options: TurnOptions) {
    this.#options = options;
  }

  /** Run one turn, in a span that is a child of the caller's when its trace context came along. */
  run(activation: Activation, request: ActorRequest): Promise<ActorResponse> | ActorResponse {
    const parent = request.traceparent
      ? propagation.extract(ROOT_CONTEXT, { traceparent: request.traceparent })
      : context.active();
    const span = tracer.startSpan(`actor turn ${activation.address.kind}`, {
      attributes: { "sb.actor": activation.key, "sb.op": request.op },
    }, parent);
    let answer;
    try {
      answer = this.#turn(activation, request);
    } catch (error) {
      answer = this.#threw(activation, error);
    }
    const end = (response: ActorResponse) => {
      if (!response.ok) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: response.error.code });
      }
      span.end();
      this.#options.answered(activation);
      return response;
    };
    return answer instanceof Promise ? answer.then(end) : end(answer);
  }

  // A hook of the decider threw, possibly halfway through folding events in:
  // nothing of this turn was handed to the committer, and the activation is
  // retired so the next message reloads it from the log.
  #threw(activation: Activation, error: unknown): ActorResponse {
    this.#options.onError?.("turn threw", {
      actor: activation.key,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
    this.#options.threw(activation);
    return failed(
      RuntimeErrors.internal,
      `${activation.address.kind} failed to take the command`,
      false,
    );
  }

  #turn(activation: Activation, request: ActorRequest): Promise<ActorResponse> | ActorResponse {
    const started = performance.now();
    if (activation.failure) return { ok: false, error: activation.failure };
    if (this.#options.now() > request.deadline) {
      return failed(RuntimeErrors.timeout, "deadline passed before the turn ran");
    }
    if (request.op === "read") {
      const seq = activation.seq;
      const view = viewOf(activation);
      return this.#afterGate(
        activation,
        started,
        () =>
          seq === 0
            ? failed(RuntimeErrors.notFound, `${activation.address.kind} not found`, false)
            : { ok: true, reply: view, seq },
      );
    }
    const replay = activation.commands.replay(request);
    if (replay) return this.#replay(activation, request, replay, started);

    const now = this.#options.now();
    const ctx: DecideContext = {
      now,
      actor: activation.address,
      commandId: request.commandId,
      tenant: activation.settings,
    };
    const decision = activation.decider.decide(activation.state, request.command, ctx);
    if ("reject" in decision) {
      const { code, message, field, details } = decision.reject;
      const error = { code, message, ...(field && { field }), ...(details && { details }) };
      return this.#settle(activation, request, { ok: false, error }, now, started);
    }
    if (decision.events.length === 0) {
      return this.#settle(activation, request, this.#success(activation), now, started);
    }
    return this.#commit(activation, request, decision.events, now, started);
  }

  #replay(
    activation: Activation,
    request: ActorRequest,
    replay: Replay,
    started: number,
  ): Promise<ActorResponse> {
    switch (replay.kind) {
      case "pending":
        return replay.answer;
      case "mismatch":
        return this.#afterGate(activation, started, () => ({ ok: false, error: replay.error }));
      case "outcome":
        return this.#afterGate(
          activation,
          started,
          answerOf(replay.outcome, request, () => viewOf(activation)),
        );
    }
  }

  // A command that wrote no events (a refusal or a no-op) is answered once
  // the events before it are durable, and its outcome recorded as final,
  // except for an actor that does not exist (nothing is kept for it), for
  // refusals of the request itself, and for a command no client can send
  // again (a refused claim in a storm would wait for a commit of nothing).
  #settle(
    activation: Activation,
    request: ActorRequest,
    outcome: CommandOutcome,
    now: number,
    started: number,
  ): Promise<ActorResponse> {
    const answer = answerOf(outcome, request, () => viewOf(activation));
    if (
      activation.seq === 0 || request.unkeyed ||
      (!outcome.ok && !isRecorded(outcome.error.code))
    ) {
      return this.#afterGate(activation, started, answer);
    }
    const record = recordOf(request, outcome, now);
    const append: AppendRequest = {
      actorKey: activation.key,
      expectedSeq: activation.seq,
      events: [],
      idempotency: [record],
    };
    return this.#append(activation, append, record, started, answer).response;
  }

  #commit(
    activation: Activation,
    request: ActorRequest,
    events: { type: string }[],
    now: number,
    started: number,
  ): Promise<ActorResponse> {
    const { append, stored, outbox, row } = foldIntoAppend(
      activation,
      request.commandId,
      events,
      { now, snapshotEvery: this.#options.snapshotEvery },
    );
    const outcome = this.#success(activation);
    const record = recordOf(request, outcome, now);
    append.idempotency = [record];
    const { onEffects, onCommitted, onEveryCommit, onState } = this.#options;
    const state = activation.state;
    const { committed, response } = this.#append(
      activation,
      append,
      record,
      started,
      answerOf(outcome, request, () => viewOf(activation)),
    );
    if (outbox.length > 0 && onEffects) this.#afterCommit(committed, () => onEffects(outbox));
    if (onState) this.#afterCommit(committed, () => onState(activation.address, state));
    if (activation.decider.pushed && onCommitted) {
      const placed = placement(row);
      const moved = placed !== activation.placed;
      activation.placed = placed;
      this.#afterCommit(
        committed,
        () => onCommitted(activation.address, stored, moved ? row ?? null : null),
      );
    }
    if (onEveryCommit) {
      this.#afterCommit(committed, () => onEveryCommit(activation.address, stored, row ?? null));
    }
    return response;
  }

  #success(activation: Activation): CommandOutcome {
    const receipt = activation.decider.receipt?.(activation.state);
    return { ok: true, seq: activation.seq, ...(receipt && { receipt }) };
  }

  #append(
    activation: Activation,
    append: AppendRequest,
    record: IdempotencyRecord,
    started: number,
    answer: () => ActorResponse,
  ): { committed: Promise<void>; response: Promise<ActorResponse> } {
    const committed = this.#options.committer.append(append);
    gateOn(activation, committed, (error) => this.#options.fail(activation, error));
    const response = this.#afterGate(activation, started, answer, committed);
    activation.commands.remember(record, response);
    return { committed, response };
  }

  // Listeners run once the append is durable; one that throws is logged,
  // never left as an unhandled rejection.
  #afterCommit(committed: Promise<void>, listener: () => void): void {
    committed.then(listener, () => {}).catch((error) =>
      this.#options.onError?.("commit listener threw", { error: String(error) })
    );
  }

  #afterGate(
    activation: Activation,
    started: number,
    answer: () => ActorResponse,
    own?: Promise<void>,
  ): Promise<ActorResponse> {
    return afterGate(activation, answer, () => {
      activation.lastUsed = this.#options.now();
      this.#options.onTurn?.(activation.address.kind, performance.now() - started);
    }, own);
  }
}

// What an outcome answers, a success with the current view and its receipt
// laid over it, or the receipt alone when that is all the caller reads. The
// view is taken now, and only for a success: a refusal (every losing claim
// of a storm) answers without one.
function answerOf(
  outcome: CommandOutcome,
  { receiptOnly }: ActorRequest,
  viewNow: () => unknown,
): () => ActorResponse {
  if (!outcome.ok) {
    const error = { ...outcome.error, retryable: false };
    return () => ({ ok: false, error });
  }
  const { receipt, seq } = outcome;
  if (receiptOnly && receipt) return () => ({ ok: true, reply: receipt, seq });
  const view = viewNow();
  const reply = receipt && typeof view === "object" && view !== null
    ? { ...view, ...receipt }
    : view;
  return () => ({ ok: true, reply, seq });
}

function recordOf(
  request: ActorRequest,
  outcome: CommandOutcome,
  now: number,
): IdempotencyRecord {
  return {
    commandId: request.commandId,
    fingerprint: request.fingerprint ?? null,
    outcome,
    createdAt: now,
  };
}
