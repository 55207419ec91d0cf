// Offers on an agent's socket: the `offer` frames of work the queue holds
// for this agent, and its `accept` and `decline` answers, sent to the queue.
import { tenantQueueId } from "../../actors/queue.ts";
import type { Principal } from "../auth/auth.ts";
import { clientCommand } from "../idempotency.ts";
import { clientMessage } from "../client_messages.ts";
import type { QueueSnapshot } from "../live/queue_feed.ts";
import type { ClientFrame, ServerFrame } from "./frames.ts";
import type { SocketSession } from "./_session.ts";

/** An `accept` or `decline` frame. */
export type OfferAnswer = Extract<ClientFrame, { t: "accept" | "decline" }>;

/**
 * The `offer` frames of offers to `agent` in the queue's update that were
 * not sent yet; `sent` remembers them (and forgets offers that ended).
 */
export function newOffers(
  snapshot: QueueSnapshot,
  agent: string,
  sent: Set<string>,
): ServerFrame[] {
  const frames: ServerFrame[] = [];
  const current = new Set<string>();
  for (const offer of snapshot.update.offers) {
    if (offer.agent !== agent) continue;
    const key = `${offer.kind}:${offer.id}:${offer.deadline}`;
    current.add(key);
    if (sent.has(key)) continue;
    sent.add(key);
    const item = offer.kind === "chat" ? { conversation: offer.id } : { ticket: offer.id };
    frames.push({ t: "offer", ...item, deadline: offer.deadline });
  }
  for (const key of sent) if (!current.has(key)) sent.delete(key);
  return frames;
}

/** Send an agent's answer to an offer to its tenant's queue and ack it or say why not. */
export async function answerOffer(
  session: SocketSession,
  frame: OfferAnswer,
  principal: Principal,
): Promise<void> {
  if (principal.role === "visitor") {
    return session.error({ id: frame.id, code: "forbidden", message: "only agents answer offers" });
  }
  if ((frame.conversation === undefined) === (frame.ticket === undefined)) {
    return session.error({
      id: frame.id,
      code: "invalid_frame",
      message: "name exactly one of conversation or ticket",
    });
  }
  const item = frame.conversation !== undefined
    ? { kind: "chat", id: frame.conversation }
    : { kind: "ticket", id: frame.ticket! };
  const by = { sub: principal.sub, role: principal.role };
  const command = { type: frame.t, item, by };
  const { commandId, fingerprint } = clientCommand(principal, `${frame.t}:${frame.id}`, command);
  const response = await session.ctx.backend.request({
    address: { kind: "queue", tenant: principal.tenant, id: tenantQueueId },
    op: "command",
    command,
    commandId,
    fingerprint,
    deadline: Date.now() + session.ctx.requestTimeoutMs,
  });
  if (!response.ok) {
    const { code, retryable } = response.error;
    return session.error({
      id: frame.id,
      code,
      message: clientMessage(response.error),
      ...(retryable && { retryAfterMs: 1000 }),
    });
  }
  session.send({ t: "ack", id: frame.id, conversation: item.id, seq: 0 });
}
