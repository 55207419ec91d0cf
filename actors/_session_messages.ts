// The messages of one turn: numbered on from the state's counters, by
// whoever writes them or by the system.
import { type Caller, type DecideContext, systemSub } from "./decider.ts";
import type { MessageAuthor, MessageEvent, MessageKind, SessionState } from "./_session_types.ts";

const SYSTEM: MessageAuthor = { sub: systemSub, role: "system" };

/** Writes the messages of one turn, numbered on from the state's counters. */
export interface Messages {
  write(
    kind: MessageKind,
    by: MessageAuthor,
    body: string,
    clientMessageId: string | null,
  ): MessageEvent;
  system(body: string): MessageEvent;
}

/** Numbers the messages of one turn on from the state's counters. */
export function messages(state: SessionState, ctx: DecideContext): Messages {
  let seq = state.seq;
  let publicSeq = state.publicSeq;
  const write: Messages["write"] = (kind, by, body, clientMessageId) => {
    const internal = kind === "note";
    seq += 1;
    if (!internal) publicSeq += 1;
    return {
      type: "message",
      seq,
      publicSeq,
      kind,
      author: by,
      body,
      clientMessageId,
      at: ctx.now,
      internal,
    };
  };
  return { write, system: (body) => write("system", SYSTEM, body, null) };
}

/** A caller as the author of its message. */
export function author(by: Caller): MessageAuthor {
  return { sub: by.sub, role: by.role };
}
