/**
 * The command frames of a socket (`send`, `claim`, `transfer`, `resolve`,
 * `close`, `rate`): the tenant's rate limit, the command id, the request to
 * the conversation's actor, and the `ack` or `err` answering it.
 *
 * @module
 */
import { context, propagation, SpanStatusCode } from "@opentelemetry/api";
import { tracer } from "../../cluster/telemetry/tracing.ts";
import type { ActorRequest } from "../../cluster/protocol.ts";
import type { Principal } from "../auth/auth.ts";
import { clientCommand } from "../idempotency.ts";
import { clientMessage, isRetryable } from "../client_messages.ts";
import type { ClientFrame } from "./frames.ts";
import type { SocketSession } from "./_session.ts";

/** A frame that is a command to a conversation. */
export type CommandFrame = Extract<ClientFrame, { id: string; conversation: string }>;

const commandFrames = new Set(["send", "claim", "transfer", "resolve", "close", "rate"]);

/** Whether a frame is a command. */
export function isCommand(frame: ClientFrame): frame is CommandFrame {
  return commandFrames.has(frame.t);
}

/** Run one command frame and answer it with `ack` or `err`. */
export async function runCommand(
  session: SocketSession,
  frame: CommandFrame,
  principal: Principal,
): Promise<void> {
  const limited = await rateLimit(session, principal);
  if (limited) {
    return session.error({
      id: frame.id,
      code: "rate_limited",
      message: "too many requests for this caller or tenant",
      retryAfterMs: limited,
    });
  }
  const by = { sub: principal.sub, role: principal.role };
  const command = commandOf(frame, by);
  const key = frame.t === "send" ? frame.clientMessageId ?? frame.id : `${frame.t}:${frame.id}`;
  const { commandId, fingerprint } = clientCommand(principal, key, [frame.conversation, command]);
  const response = await tracer.startActiveSpan(`ws ${frame.t}`, async (span) => {
    try {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      const answer = await session.ctx.backend.request({
        ...session.request(frame.conversation, "command", commandId),
        command,
        fingerprint,
        // The ack tells only the message's number.
        receiptOnly: true,
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
      session.ctx.log.warn("command failed; retryable", { code, error: response.error.message });
    }
    return session.error({
      id: frame.id,
      code,
      message: clientMessage(response.error),
      ...(field && { field }),
      ...(retryable && { retryAfterMs: 1000 }),
    });
  }
  const receipt = response.reply as Record<string, unknown>;
  session.send({
    t: "ack",
    id: frame.id,
    conversation: frame.conversation,
    seq: Number(receipt[session.numbering] ?? 0),
  });
  await session.follow(frame.conversation);
}

async function rateLimit(session: SocketSession, principal: Principal): Promise<number | null> {
  const limiter = session.ctx.callerLimiter;
  if (!limiter) return null;
  try {
    const decision = await limiter.take(principal);
    return decision.allowed ? null : decision.retryAfterMs;
  } catch (error) {
    // Rate limits fail open: a broken limiter must not stop conversations.
    session.ctx.log.warn("rate limiter failed", { error: String(error) });
    return null;
  }
}

function commandOf(
  frame: CommandFrame,
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
