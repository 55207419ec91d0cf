// How a conversation's events fold into its state (its transcript
// included), and the timers that state wants. Pure: every event copies what
// it changes.
import { MINUTE, type TimerSpec } from "./decider.ts";
import { charCount } from "./_validation.ts";
import type { MessageEvent, SessionEvent, SessionState, Visitor } from "./_session_types.ts";
import { sessionLimits } from "./_session_types.ts";
import { participantKey } from "./_session_ids.ts";
import { copyData } from "./_copy.ts";

/** The durable timers of a conversation. */
export const TIMER_NAMES = { waitLimit: "wait_limit", idleClose: "idle_close" } as const;

/** Fold one conversation event into the state. */
export function evolve(state: SessionState, event: SessionEvent): SessionState {
  // Reading changes nothing anyone else sees of the conversation.
  if (event.type === "read_marked") {
    return { ...state, readMarkers: { ...state.readMarkers, [event.participant]: event.seq } };
  }
  const next = { ...state, updatedAt: event.at };
  switch (event.type) {
    case "opened":
      return {
        ...next,
        status: "queued",
        openCommandId: event.commandId,
        visitor: { ...event.visitor },
        subject: event.subject,
        ...(event.routing && { routing: copyData(event.routing) }),
        limits: { ...event.limits },
        createdAt: event.at,
      };
    case "message":
      return {
        ...next,
        seq: event.seq,
        publicSeq: event.publicSeq,
        lastMessageAt: event.at,
        ...(event.kind === "text" ? withLine(next, transcriptLine(next, event)) : {}),
        ...authorRead(state, event),
      };
    case "assigned":
      return {
        ...next,
        status: "assigned",
        agent: event.agent,
        idleCheckAt: event.at + state.limits.idleCloseMinutes * MINUTE,
      };
    case "idle_checked":
      return { ...next, idleCheckAt: event.next };
    case "closed":
      return {
        ...next,
        status: "closed",
        closedAt: event.at,
        closedBy: event.by,
        closeReason: event.reason,
      };
    case "converted":
      return { ...next, ticketId: event.ticketId };
    case "rated":
      return { ...next, rating: { score: event.score, comment: event.comment } };
    case "route_declined":
      return next;
    default:
      // Events of a newer version replay as no-ops rather than breaking the fold.
      return state;
  }
}

// What one writes, one has read: the author's marker rises to the message
// in the author's numbering, so an edge need not checkpoint it.
function authorRead(state: SessionState, event: MessageEvent): Pick<SessionState, "readMarkers"> {
  const { author } = event;
  if (author.role === "system") return {};
  const participant = participantKey({ sub: author.sub, role: author.role });
  const seq = author.role === "visitor" ? event.publicSeq : event.seq;
  if (seq <= (state.readMarkers?.[participant] ?? 0)) return {};
  return { readMarkers: { ...state.readMarkers, [participant]: seq } };
}

/**
 * Append a line, then drop the oldest until the transcript fits its caps.
 * The transcript's length is carried along, so a message costs its own line,
 * not a count of the whole transcript (about 200 µs at the cap).
 */
function withLine(
  state: SessionState,
  line: string,
): Pick<SessionState, "transcript" | "transcriptChars" | "transcriptTrimmed"> {
  const added = clip(line, sessionLimits.transcriptChars);
  const lines = [...state.transcript, added];
  // Lines are joined by newlines, which count too.
  let chars = transcriptChars(state) + (state.transcript.length > 0 ? 1 : 0) + charCount(added);
  let dropped = 0;
  while (
    lines.length - dropped > sessionLimits.transcriptMessages ||
    chars > sessionLimits.transcriptChars
  ) {
    chars -= charCount(lines[dropped]) + 1;
    dropped++;
  }
  return {
    transcript: dropped > 0 ? lines.slice(dropped) : lines,
    transcriptChars: chars,
    transcriptTrimmed: state.transcriptTrimmed || dropped > 0,
  };
}

/** The characters of the transcript's lines joined by newlines. */
function transcriptChars(state: SessionState): number {
  if (state.transcriptChars !== undefined) return state.transcriptChars;
  const lines = state.transcript;
  return lines.reduce((sum, kept) => sum + charCount(kept), Math.max(0, lines.length - 1));
}

function transcriptLine(state: SessionState, event: MessageEvent): string {
  const who = event.author.role === "visitor" ? visitorName(state.visitor) : event.author.sub;
  return `[${timestamp(event.at)}] ${who}: ${event.body}`;
}

/** The durable timers the state wants: the wait limit while queued, the idle close while assigned. */
export function timers(state: SessionState): TimerSpec[] {
  if (state.status === "queued") {
    // A conversation waits from the moment it is opened; nothing puts it back in the queue.
    const at = state.createdAt + state.limits.waitLimitMinutes * MINUTE;
    return [{ name: TIMER_NAMES.waitLimit, at }];
  }
  if (state.status === "assigned") return [{ name: TIMER_NAMES.idleClose, at: state.idleCheckAt }];
  return [];
}

/** What a visitor is called in transcripts: their name, or their id. */
export function visitorName(visitor: Visitor): string {
  return visitor.name ?? visitor.id;
}

/** A transcript's time: UTC, to the second. */
export function timestamp(at: number): string {
  return `${new Date(at).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** At most `max` characters, with an ellipsis where it was cut. */
export function clip(value: string, max: number): string {
  if (charCount(value) <= max) return value;
  return [...value].slice(0, max - 1).join("") + "…";
}
