/**
 * Typing and read markers: relayed to every edge watching the conversation.
 * Typing is never stored, and relayed at most once a second per
 * conversation unless it flips; a read marker also raises the reader's
 * replicated marker (see `../live/read_markers.ts`).
 *
 * @module
 */
import type { Principal } from "../auth/auth.ts";
import type { ClientFrame } from "./frames.ts";
import type { SocketSession } from "./_session.ts";

/** When this socket last relayed typing, and which way, per conversation. */
export type TypingSent = Map<string, { at: number; on: boolean }>;

const typingEveryMs = 1000;

/** Relay a `typing` or `read` frame of a watched conversation. */
export function relaySignal(
  session: SocketSession,
  frame: Extract<ClientFrame, { t: "typing" | "read" }>,
  principal: Principal,
  typingSent: () => TypingSent,
): void {
  if (!session.watching(frame.conversation)) {
    return session.error({
      code: "not_watching",
      message: `resume ${frame.conversation} first`,
    });
  }
  const { sub, role, tenant } = principal;
  const hub = session.ctx.hub;
  if (frame.t === "read") {
    session.ctx.readMarkers.mark(tenant, frame.conversation, principal, frame.seq);
    return hub.signal(tenant, frame.conversation, { kind: "read", sub, role, seq: frame.seq });
  }
  const on = frame.on ?? true;
  const sent = typingSent();
  const last = sent.get(frame.conversation);
  if (last && last.on === on && Date.now() - last.at < typingEveryMs) return;
  sent.set(frame.conversation, { at: Date.now(), on });
  hub.signal(tenant, frame.conversation, { kind: "typing", sub, role, on });
}
