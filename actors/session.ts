/**
 * The session actor: a pure decider for one live chat conversation between a
 * visitor and the agents who serve them.
 *
 * @module
 */
import { projectionOf } from "./_projection.ts";
import type { Decider } from "./decider.ts";
import type { SessionCommand, SessionEvent, SessionState } from "./_session_types.ts";
import { decide } from "./_session_decide.ts";
import { evolve, timers } from "./_session_evolve.ts";
import { effects } from "./_session_effects.ts";

export type { ChatRouting } from "./_session_routing.ts";
export {
  type CloseReason,
  type ConversionReason,
  type MessageAuthor,
  type MessageEvent,
  type MessageKind,
  type Rating,
  type SessionCommand,
  type SessionEvent,
  type SessionEventBase,
  sessionLimits,
  type SessionState,
  type SessionStatus,
  type Visitor,
} from "./_session_types.ts";
export {
  anonymousVisitorPrefix,
  chatTicketId,
  isAnonymousVisitorId,
  participantKey,
} from "./_session_ids.ts";

/**
 * The session decider.
 *
 * Life cycle: `queued` → `assigned` → `closed`, or `queued` → `closed` when
 * the visitor leaves or the chat becomes a ticket.
 *
 * Who may do what:
 * - The visitor opens the conversation for themselves, writes text, closes
 *   it and, once it is closed, rates it once.
 * - The first agent to claim it is its agent; every later claim learns who.
 * - The assigned agent writes text and notes, transfers and closes; a
 *   supervisor or admin may do all of that, and transfer a queued chat to an
 *   agent, without being assigned.
 *
 * Offline: opened while no agent is online, or still queued when the
 * tenant's wait limit passes, the conversation becomes ticket
 * {@linkcode chatTicketId} (sent to the ticket actor as an effect, carrying
 * the transcript) and closes, and the visitor is told so.
 *
 * Idle: an assigned conversation with no message for the tenant's idle
 * limit closes.
 *
 * Commands that would change nothing (claiming one's own chat, transferring
 * to the current agent, a stale timer) succeed with no events.
 */
export const sessionDecider: Decider<SessionState, SessionCommand, SessionEvent> = {
  kind: "session",
  initial: (address) => ({
    id: address.id,
    tenant: address.tenant,
    status: "none",
    openCommandId: null,
    visitor: { id: "", name: null, email: null, verified: false },
    subject: null,
    agent: null,
    limits: { waitLimitMinutes: 0, idleCloseMinutes: 0 },
    seq: 0,
    publicSeq: 0,
    createdAt: 0,
    updatedAt: 0,
    lastMessageAt: 0,
    idleCheckAt: 0,
    closedAt: null,
    closedBy: null,
    closeReason: null,
    ticketId: null,
    rating: null,
    transcript: [],
    transcriptChars: 0,
    transcriptTrimmed: false,
    readMarkers: {},
  }),
  decide,
  evolve,
  timers,
  project: (state) => projectionOf(state, state.agent, () => summary(state)),
  view(state) {
    if (state.status === "none") return null;
    return {
      ...summary(state),
      seq: state.seq,
      publicSeq: state.publicSeq,
      closedAt: state.closedAt,
      closedBy: state.closedBy,
    };
  },
  // A retried send acknowledges the numbers its message got.
  receipt: (state) => ({ seq: state.seq, publicSeq: state.publicSeq }),
  pushed: true,
  effects,
};

function summary(state: SessionState): Record<string, unknown> {
  return {
    id: state.id,
    tenant: state.tenant,
    status: state.status,
    visitor: { id: state.visitor.id, name: state.visitor.name, verified: state.visitor.verified },
    agent: state.agent,
    subject: state.subject,
    ...(state.routing && { topic: state.routing.topic, language: state.routing.language }),
    messages: state.seq,
    lastMessageAt: state.lastMessageAt,
    rating: state.rating === null ? null : { ...state.rating },
    ticketId: state.ticketId,
    closeReason: state.closeReason,
    readMarkers: { ...state.readMarkers },
    createdAt: state.createdAt,
    updatedAt: state.updatedAt,
  };
}
